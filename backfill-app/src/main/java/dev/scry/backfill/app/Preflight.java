package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ReplicaRole;
import dev.scry.backfill.sink.ShadowSchema;
import dev.scry.backfill.sink.ShadowTypes;
import dev.scry.backfill.sink.schema.SchemaPlan;
import dev.scry.backfill.sink.schema.SchemaScope;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.snapshot.TransformShaping;
import dev.scry.backfill.source.DdlCapture;
import dev.scry.backfill.source.SourceCatalog;
import dev.scry.backfill.transform.TransformChain;

/**
 * The preflight step: everything checked before anything is written, the source's readiness and
 * the shadow tables' shape, every problem in one message. Leaves the transform chain, the schema
 * to create and the source's schema in the context.
 */
final class Preflight {

    private Preflight() {
    }

    /** @param following whether the pipeline already streams (it then meets the source's later schema changes as they come) */
    static Map<TableId, TableSpec> check(PipelineContext run, boolean following) throws SQLException {
        Connection source = run.source;
        Connection shadow = run.shadow;
        ShadowVersion.check(source, shadow, run.config.shadow().describe());
        // A standby's problems and the tables' come in one message.
        List<String> standby = new ArrayList<>(run.reader.standbyProblems(source, run.config.source().describe(),
                run.config.publication(), run.config.tables()));
        Map<TableId, TableSpec> specs;
        try {
            specs = run.reader.preflight(source, run.config.source().describe())
                    .check(run.config.tables(), TransformChain.dropsColumn(run.config.transforms()));
        }
        catch (SetupException e) {
            if (standby.isEmpty()) {
                throw e;
            }
            standby.add(e.getMessage());
            throw SetupException.ofAll("the standby " + run.config.source().describe() + " cannot feed the pipeline as it is", standby);
        }
        if (!standby.isEmpty()) {
            throw SetupException.ofAll("the standby " + run.config.source().describe() + " cannot feed the pipeline as it is", standby);
        }
        try {
            run.chain = TransformChain.create(run.config.transforms(), List.copyOf(specs.values()));
        }
        catch (IllegalArgumentException e) {
            throw new SetupException(e.getMessage(), e);
        }
        ShadowTypes.check(source, shadow, columnsKeepingType(run, specs));
        ShadowSchema.check(shadow, shaped(run.chain, specs).values(), following);
        run.schema = new SchemaSync(new SchemaScope(List.copyOf(specs.keySet()), run.config.wholeSchemas(schemas(source)),
                new TransformShaping(run.chain, specs.values()), run.config.schema()));
        SchemaPlan plan = run.schema.plan(source, shadow);
        run.sourceSchema = plan.source();
        run.sourceSchemaJustRead = true;
        ShadowTypes.checkTypes(source, shadow, run.sourceSchema.types());
        if (!following) {
            // A pipeline already streaming meets the source's later schema changes as they come.
            plan.diff().refuseDifferences();
        }
        checkRoles(run, plan.source().roles());
        if (run.config.schema().captureDdl()) {
            Optional<String> why = run.reader.whyNoCapturedDdl();
            if (why.isPresent()) {
                throw new SetupException("schema.capture-ddl: " + why.get() + ". Set schema.capture-ddl: false (the drift check follows"
                        + " what it can)");
            }
            // Before the slot exists, so that no schema change after the stream's start escapes it.
            DdlCapture capture = new DdlCapture(source);
            capture.install(run.config.standby(), run.config.source().describe());
            run.config = run.config.withSchema(run.config.schema().withCaptureKey(capture.key(run.config.source().describe())));
        }
        run.config = run.config.withShadow(ReplicaRole.apply(run.config.shadow(), shadow, plan.needsReplicaRole()));
        return specs;
    }

    /** Every schema of the source database, for finding those a pattern takes whole. */
    static List<String> schemas(Connection source) throws SQLException {
        List<String> out = new ArrayList<>();
        try (var st = source.createStatement(); var rs = st.executeQuery("""
                SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1""")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** Source relation OID to the columns whose type reaches the shadow: what {@link ShadowTypes} must provide. */
    static Map<Long, Set<String>> columnsKeepingType(PipelineContext run, Map<TableId, TableSpec> specs) throws SQLException {
        Map<Long, Set<String>> out = new LinkedHashMap<>();
        SourceCatalog catalog = new SourceCatalog(run.source);
        for (TableSpec spec : specs.values()) {
            catalog.relation(spec.id()).ifPresent(r -> out.put(r.oid(), run.chain.columnsKeepingType(spec)));
        }
        return out;
    }

    /** Owners and grantees that schema.copy-ownership / copy-privileges would name must exist on the shadow: all named at once. */
    private static void checkRoles(PipelineContext run, Set<String> roles) throws SQLException {
        if (roles.isEmpty()) {
            return;
        }
        Set<String> missing = new TreeSet<>(roles);
        try (var ps = run.shadow.prepareStatement("SELECT rolname FROM pg_roles WHERE rolname = ANY (?)")) {
            ps.setArray(1, run.shadow.createArrayOf("text", roles.toArray()));
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    missing.remove(rs.getString(1));
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new SetupException("role(s) " + String.join(", ", missing) + " own or are granted objects on the source but do not"
                    + " exist on the shadow " + run.config.shadow().describe() + "; create them on the shadow (CREATE ROLE ...) or set"
                    + " schema.copy-ownership and schema.copy-privileges to false");
        }
    }

    /** The shadow's shape of each table: the source's after the transforms. */
    private static Map<TableId, TableSpec> shaped(TransformChain chain, Map<TableId, TableSpec> specs) {
        Map<TableId, TableSpec> out = new LinkedHashMap<>();
        specs.forEach((id, spec) -> out.put(id, chain.shape(spec)));
        return out;
    }
}
