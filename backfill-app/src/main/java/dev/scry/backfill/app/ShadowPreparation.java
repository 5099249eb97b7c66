package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowSchema;
import dev.scry.backfill.sink.ShadowTypes;
import dev.scry.backfill.sink.schema.ObjectKind;
import dev.scry.backfill.sink.schema.SchemaDiff;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourceCatalog;

/**
 * The schema step, a command's first writes: the metadata schema, types, the schema objects the
 * shadow lacks, the publication. Returns the shadow tables as they are, which is what the sink
 * writes to.
 */
final class ShadowPreparation {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowPreparation.class);

    /** How a run creates the shadow's schema objects. */
    enum Load {
        /** A copy snapshot: pre-data now, post-data journalled and built after the rows are in. */
        DEFERRED,
        /** Everything at once (streaming from scratch, Debezium's snapshot, which applies through keys). */
        AT_ONCE,
        /** A pipeline already streaming: only tables missing on the shadow, with their objects. */
        FOLLOWING
    }

    private ShadowPreparation() {
    }

    static Map<TableId, TableSpec> prepare(PipelineContext run, Map<TableId, TableSpec> specs, Load load) throws SQLException {
        Connection source = run.source;
        Connection shadow = run.shadow;
        MetadataSchema.ensure(shadow);
        ShadowTypes.ensure(source, shadow, Preflight.columnsKeepingType(run, specs));
        ShadowTypes.ensureTypes(source, shadow, run.sourceSchema.types());
        SchemaSync sync = run.schema;
        if (load == Load.FOLLOWING) {
            List<TableId> missing = new ArrayList<>();
            for (TableId table : specs.keySet()) {
                if (ShadowSchema.describe(shadow, table).isEmpty()) {
                    missing.add(table);
                }
            }
            sync = missing.isEmpty() ? null : new SchemaSync(run.schema.scope().only(missing));
        }
        if (sync != null) {
            // Read again: a snapshot just completed has built what the start-up reading lacked.
            SchemaDiff diff = sync.createMissing(source, shadow, load == Load.DEFERRED ? new SnapshotJournal(run.config.pipeline()) : null);
            if (!diff.missing().isEmpty()) {
                int later = load == Load.DEFERRED ? diff.missing(ObjectKind.Section.POST_DATA).size() : 0;
                LOG.info("created {} schema object(s) on the shadow{}", diff.missing().size() - later, later == 0 ? ""
                        : "; " + later + " more (keys, indexes, constraints, triggers) are built once their rows are in");
            }
        }
        SourceAdmin admin = new SourceAdmin(source);
        if (admin.server().standby()) {
            // Created on the primary and checked by the preflight: a standby writes nothing.
            LOG.info("reading from the standby {}: publication {} comes from the primary", run.config.source().describe(),
                    run.config.publication());
        }
        else {
            admin.ensurePublication(run.config.publication(), specs.keySet(), columnLists(run, specs));
        }
        Map<TableId, TableSpec> current = new LinkedHashMap<>();
        for (TableSpec spec : specs.values()) {
            current.put(spec.id(), ShadowSchema.current(shadow, run.chain.shape(spec)));
        }
        return current;
    }

    /**
     * Where drop-columns can be pushed into the publication (PostgreSQL 15 column lists) so the
     * columns never leave the source: tables whose replica identity is a key (a column list must
     * hold it; REPLICA IDENTITY FULL allows none). Elsewhere the pipeline drops them. Says which.
     */
    private static Map<TableId, List<String>> columnLists(PipelineContext run, Map<TableId, TableSpec> specs) throws SQLException {
        Map<TableId, List<String>> lists = new LinkedHashMap<>();
        SourceCatalog catalog = new SourceCatalog(run.source);
        boolean columnListsExist = new SourceAdmin(run.source).server().major() >= 15;
        for (TableSpec spec : specs.values()) {
            Set<String> dropped = run.chain.droppedColumns(spec.id());
            if (!dropped.isEmpty()) {
                char identity = catalog.relation(spec.id()).map(SourceCatalog.Relation::replicaIdentity).orElse('f');
                if (!columnListsExist) {
                    LOG.info("drop-columns on {}: {} dropped in the pipeline (PostgreSQL 14 has no publication column lists)",
                            spec.id(), dropped);
                }
                else if (spec.hasPrimaryKey() && identity != 'f') {
                    lists.put(spec.id(), spec.columns().stream().map(c -> c.name()).filter(n -> !dropped.contains(n)).toList());
                    LOG.info("drop-columns on {}: {} left out of the publication (column list), so they never leave the source",
                            spec.id(), dropped);
                }
                else {
                    LOG.info("drop-columns on {}: {} dropped in the pipeline (REPLICA IDENTITY FULL allows no column list)",
                            spec.id(), dropped);
                }
            }
            if (run.chain.filters(spec.id())) {
                LOG.info("filter-rows on {}: applied in the pipeline (a publication row filter on columns outside the replica"
                        + " identity would make UPDATE and DELETE fail on the source)", spec.id());
            }
        }
        return lists;
    }
}
