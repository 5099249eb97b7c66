package dev.scry.backfill.sink.schema;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.TableId;

/**
 * The shadow's schema from the source's catalog, built with PostgreSQL's own catalog functions
 * ({@code pg_get_indexdef}, {@code pg_get_constraintdef}, {@code pg_get_viewdef},
 * {@code pg_get_functiondef}, {@code pg_get_triggerdef}, {@code format_type}, {@code pg_get_expr})
 * rather than pg_dump: pg_dump refuses servers newer than itself, a container image has no
 * pg_dump, and the snapshot has to create each table's objects around its rows, journalled.
 *
 * <p>{@link #read} gives a database's objects for the scope; reading the source and the shadow and
 * comparing them ({@link SchemaModel#diff}) says what the shadow lacks and what it defines
 * differently, object by object, which is also what a schema change on the source will need to
 * be followed one object at a time.
 */
public final class SchemaSync {

    private static final Logger LOG = LoggerFactory.getLogger(SchemaSync.class);

    private final SchemaScope scope;

    public SchemaSync(SchemaScope scope) {
        this.scope = scope;
    }

    public SchemaScope scope() {
        return scope;
    }

    /** The scope's objects as {@code c}'s catalog has them. Reads only; leaves {@code c} as it found it. */
    public SchemaModel read(Connection c) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL search_path = ''");
            }
            Catalog catalog = new Catalog(c);
            ModelBuilder model = new ModelBuilder(scope);
            wholeSchemas(catalog, model);
            List<Long> tables = new TableReader(catalog, model).read();
            List<Long> views = new ViewReader(catalog, model).read();
            FunctionReader functions = new FunctionReader(catalog, model);
            functions.read(functions.wholeSchemas());
            SequenceReader sequences = new SequenceReader(catalog, model);
            sequences.read(sequences.seeds(tables));
            List<Long> relations = new ArrayList<>(tables);
            relations.addAll(views);
            new IndexReader(catalog, model).read(relations);
            new ForeignKeyReader(catalog, model).read(tables);
            new TriggerReader(catalog, model).read(relations);
            new StatisticsReader(catalog, model).read(relations);
            new Dependencies(catalog, model, functions, sequences).resolve();
            new CommentReader(catalog, model).read();
            OwnershipReader ownership = new OwnershipReader(catalog, model);
            ownership.read();
            return new SchemaModel(finish(model), model.skipped(), model.notes(), ownership.roles(), model.sequences(), model.types());
        }
        finally {
            c.rollback();
            c.setAutoCommit(auto);
        }
    }

    /**
     * Reads both sides and compares them; logs what the source's schema has that the shadow will
     * not get, and why.
     */
    public SchemaPlan plan(Connection source, Connection shadow) throws SQLException {
        SchemaPlan plan = compare(source, shadow);
        plan.source().leftOut().forEach((what, why) -> LOG.info("not created on the shadow: {} ({})", what, why));
        plan.source().notes().forEach(LOG::info);
        return plan;
    }

    /**
     * The two catalogs are read at once, each over its own connection: each reading is dozens of
     * round trips of catalog queries, and a command's start waited for both one after the other.
     */
    private SchemaPlan compare(Connection source, Connection shadow) throws SQLException {
        java.util.concurrent.FutureTask<SchemaModel> shadowReading = new java.util.concurrent.FutureTask<>(() -> read(shadow));
        Thread reader = new Thread(shadowReading, "shadow-catalog");
        reader.setDaemon(true);
        reader.start();
        SchemaModel wanted;
        try {
            wanted = read(source);
        }
        finally {
            // The caller uses the shadow connection next: never while the reading still does.
            awaitUninterruptibly(reader);
        }
        SchemaModel existing;
        try {
            existing = shadowReading.get();
        }
        catch (InterruptedException e) {
            throw new IllegalStateException("unreachable: the reading has ended", e);
        }
        catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof SQLException sql) {
                throw sql;
            }
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(e.getCause());
        }
        return new SchemaPlan(wanted, existing, wanted.diff(existing));
    }

    private static void awaitUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            }
            catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Creates what the shadow lacks of the source's schema, in one shadow transaction: everything,
     * or with a {@code journal} the pre-data only, the post-data recorded there for the snapshot
     * to build once the rows it needs are in (committed with the tables it belongs to, so that no
     * table is ever left without the record of what it lacks). Returns what was missing.
     */
    public SchemaDiff createMissing(Connection source, Connection shadow, SnapshotJournal journal) throws SQLException {
        SchemaDiff diff = compare(source, shadow).diff();
        boolean auto = shadow.getAutoCommit();
        shadow.setAutoCommit(false);
        try {
            if (journal != null) {
                create(shadow, diff.missing(ObjectKind.Section.PRE_DATA));
                journal.defer(shadow, deferred(diff.missing(ObjectKind.Section.POST_DATA)));
            }
            else {
                create(shadow, diff.missing());
            }
            shadow.commit();
        }
        catch (SQLException | RuntimeException e) {
            shadow.rollback();
            throw e;
        }
        finally {
            shadow.setAutoCommit(auto);
        }
        return diff;
    }

    /**
     * Creates {@code objects} on the shadow in the caller's transaction, in their order, with
     * {@code check_function_bodies = off} as pg_restore does (a body may name what comes later).
     */
    public static void create(Connection shadow, List<SchemaObject> objects) throws SQLException {
        if (objects.isEmpty()) {
            return;
        }
        try (Statement st = shadow.createStatement()) {
            st.execute("SET LOCAL check_function_bodies = off");
            for (SchemaObject o : objects) {
                for (String sql : o.statements()) {
                    try {
                        st.execute(sql);
                    }
                    catch (SQLException e) {
                        if (SqlErrors.isTransient(e)) {
                            throw e;
                        }
                        throw new SetupException("cannot create " + o.key() + " on the shadow: " + SqlErrors.describe(e)
                                + "; nothing of the schema was created. Fix the shadow (a missing role, extension or language?)"
                                + " or leave the object's table out of `tables`, then run again", e);
                    }
                }
            }
        }
    }

    /** Post-data objects as the snapshot journal keeps them until the rows they need are in. */
    public static List<SnapshotJournal.Deferred> deferred(List<SchemaObject> postData) {
        Set<String> keys = new HashSet<>();
        postData.forEach(o -> keys.add(o.key()));
        List<SnapshotJournal.Deferred> out = new ArrayList<>();
        for (int i = 0; i < postData.size(); i++) {
            SchemaObject o = postData.get(i);
            out.add(new SnapshotJournal.Deferred(o.key(), i, o.kind().label(), o.table() == null ? new TableId("-", "-") : o.table(),
                    List.copyOf(o.needsRows()), o.dependsOn().stream().filter(keys::contains).sorted().toList(), o.statements(),
                    o.keyColumns()));
        }
        return out;
    }

    /** The schemas a pattern takes whole: their comments, owners and grants come too. */
    private static void wholeSchemas(Catalog catalog, ModelBuilder model) throws SQLException {
        if (model.scope.wholeSchemas().isEmpty()) {
            return;
        }
        catalog.query("SELECT oid, nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY (?) ORDER BY nspname", rs -> {
            Draft d = model.get(model.schema(rs.getString(2)));
            d.target = "SCHEMA " + dev.scry.backfill.model.Identifiers.quote(rs.getString(2));
            d.owner = rs.getString(3);
            model.own(d, Catalog.PG_NAMESPACE, rs.getLong(1));
        }, model.scope.wholeSchemas());
    }

    /** What post-data objects need loaded first; a refresh waits for every table and the view's own indexes. */
    private static List<SchemaObject> finish(ModelBuilder model) {
        Set<TableId> roots = model.roots();
        for (Draft d : model.drafts()) {
            if (d.section != ObjectKind.Section.POST_DATA || d.table == null) {
                continue;
            }
            ModelBuilder.Relation r = model.relation(d.table);
            if (r != null && r.root() != null) {
                d.needsRows.add(r.root());
            }
            if (d.kind == ObjectKind.REFRESH) {
                d.needsRows.addAll(roots);
                for (Draft other : model.drafts()) {
                    if (other != d && other.section == ObjectKind.Section.POST_DATA && d.table.equals(other.table)
                            && other.kind != ObjectKind.COMMENT) {
                        d.after(other.key);
                    }
                }
            }
        }
        for (Draft d : model.drafts()) {
            // A comment, an owner or a grant waits for what it is about, rows included.
            if (d.kind == ObjectKind.COMMENT || d.kind == ObjectKind.OWNER || d.kind == ObjectKind.PRIVILEGES) {
                for (String on : d.dependsOn) {
                    Draft target = model.get(on);
                    if (target != null) {
                        d.needsRows.addAll(target.needsRows);
                    }
                }
            }
        }
        return model.drafts().stream().map(Draft::toObject).toList();
    }

    /** For tests and logs: the objects a model has, by kind. */
    static Map<ObjectKind, Long> census(SchemaModel model) {
        return model.objects().stream().collect(java.util.stream.Collectors.groupingBy(SchemaObject::kind, java.util.TreeMap::new,
                java.util.stream.Collectors.counting()));
    }
}
