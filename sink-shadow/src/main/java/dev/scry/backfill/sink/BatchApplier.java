package dev.scry.backfill.sink;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * Applies one batch's changes inside the caller's transaction. Consecutive changes of the same
 * kind to the same table form a run that is written with one statement; a run never holds two
 * changes to one row unless the later one replaces the earlier entirely, because PostgreSQL
 * refuses to touch a row twice in one INSERT ... ON CONFLICT. Order between runs is source order.
 */
final class BatchApplier {

    /**
     * UPDATE is a net effect's rows that were on the shadow before the batch (their first change in
     * it was an update or a delete): a plain UPDATE by key costs the shadow less than an upsert,
     * which looks for a conflict and locks the row before updating it.
     */
    private enum Kind { UPSERT, INSERT, PARTIAL_UPDATE, UPDATE, DELETE }

    private final ApplyStatements statements;
    private final SchemaFollower follower;
    // What the shadow holds as of the last committed batch: each table's shape, and the row
    // layouts (by identity; one per engine schema) already checked against that shape.
    // Both replaced whole when a batch commits, never changed in place: prepare reads them from another thread.
    private volatile Map<TableId, TableSpec> tables;
    private volatile Map<List<String>, TableSpec> checkedLayouts = new IdentityHashMap<>();
    // The same for the batch being applied; kept only if it commits.
    private Map<TableId, TableSpec> pendingTables;
    private Map<List<String>, TableSpec> pendingLayouts;
    private final ColumnMaps columnMaps = new ColumnMaps();
    // Tables that joined while streaming, taken into the shape map by the next batch that meets them.
    private final Map<TableId, TableSpec> joined = new java.util.concurrent.ConcurrentHashMap<>();
    // Per shadow table: whether the order in which rows are written cannot be seen (see netEffects).
    private final Map<TableId, Boolean> orderFree = new java.util.concurrent.ConcurrentHashMap<>();
    // Moves whenever orderFree forgets anything, so that a prepared net effect that relied on it is dropped.
    private final java.util.concurrent.atomic.AtomicLong orderFreeGeneration = new java.util.concurrent.atomic.AtomicLong();
    // Net effects worked out ahead by prepare, by batch (identity), until their batch is applied.
    private final Map<ChangeBatch, Prepared> prepared = java.util.Collections.synchronizedMap(new IdentityHashMap<>());
    // prepare's own column maps: toSpecOrder's are the applying thread's.
    private final ColumnMaps preparedColumnMaps = new ColumnMaps();

    // The session's join settings while this transaction asks for joins by key (see byKey), else null.
    private String[] joinSettings;
    // Whether the trip holds the statement that asks for joins by key (its outcome sets joinSettings).
    private boolean byKeyQueued;

    // The net effects' statements of the batch being applied, sent with its checkpoint (see send),
    // and the UPDATEs among them that found fewer rows than they were given.
    private final OneTrip trip = new OneTrip();
    private final List<Run> missed = new ArrayList<>();
    // The shadow connection of the last batch, which prepare asks to encode a batch's arrays ahead:
    // pgjdbc encodes an array (binary, for text[]) when it is created, without the server.
    private volatile org.postgresql.PGConnection encoder;

    // Schema changes captured on the source (schema.capture-ddl), applied where they come.
    private final dev.scry.backfill.sink.ddl.CapturedDdl ddl;

    BatchApplier(Map<TableId, TableSpec> tables, ApplyStatements statements, SchemaFollower follower) {
        this(tables, statements, follower, null);
    }

    BatchApplier(Map<TableId, TableSpec> tables, ApplyStatements statements, SchemaFollower follower,
                 dev.scry.backfill.sink.ddl.CapturedDdl ddl) {
        this.tables = Map.copyOf(tables);
        this.statements = statements;
        this.follower = follower;
        this.ddl = ddl;
    }

    // The drift check changes the shadow's schema from a thread of its own: an index or trigger
    // may have come or gone since the last batch, and with it whether the order of writes is seen.
    private long epoch = SchemaEpoch.current();

    private void forgetIfSchemaChanged() {
        long now = SchemaEpoch.current();
        if (now != epoch) {
            epoch = now;
            forgetOrderFree(null);
        }
    }


    /** The shadow's table shapes, as of the last committed batch. */
    Map<TableId, TableSpec> tables() {
        return tables;
    }

    /** Called once the batch's transaction committed: its schema changes are now the shadow's. */
    void committed() {
        if (pendingTables != null) {
            tables = Map.copyOf(pendingTables);
            checkedLayouts = pendingLayouts;
        }
    }

    /**
     * Applies the batch. With {@code rowAtATime}, every run holds one row: the fallback for the rare
     * batch where two text forms of one key compare equal in SQL (1.0 and 1.00 in a numeric key),
     * which the server rejects within one statement (SQLSTATE 21000).
     */
    Map<TableId, TableCounts> apply(Connection c, ChangeBatch batch, boolean rowAtATime) throws SQLException {
        Prepared ahead = prepared.remove(batch);
        encoder = c.isWrapperFor(org.postgresql.PGConnection.class) ? c.unwrap(org.postgresql.PGConnection.class) : null;
        newTransaction();
        forgetIfSchemaChanged();
        pendingTables = new HashMap<>(tables);
        pendingLayouts = new IdentityHashMap<>(checkedLayouts);
        Map<TableId, long[]> counts = new LinkedHashMap<>();
        Map<TableId, NetEffect> net = ahead == null || rowAtATime || !holds(ahead) ? null : ahead.net();
        if (net != null && ahead.counts() != null) {
            // Every change of the batch is in its net effects, counted ahead: nothing here walks
            // the batch's thousands of changes, which the reading thread made and holds in its cache.
            for (NetEffect effect : net.values()) {
                effect.queue(c);
            }
            return toCounts(ahead.counts());
        }
        applyEvents(c, batch.events(), rowAtATime, counts, net);
        return toCounts(counts);
    }

    /** A batch's transaction starts: nothing of an earlier one (rolled back, or committed) is pending. */
    private void newTransaction() {
        joinSettings = null;
        dropPending();
    }

    /** Forgets the statements not sent yet, and the UPDATEs to write again (their work was rolled back). */
    private void dropPending() {
        byKeyQueued = false;
        trip.clear();
        missed.clear();
    }

    /**
     * Sends the statements {@link #apply} left to go with the next ones (its net effects), then
     * writes again by upsert the rows of an UPDATE that found fewer rows than it was given.
     */
    void send(Connection c) throws SQLException {
        trip.send(c);
        byKeyQueued = false;
        List<Run> again = List.copyOf(missed);
        missed.clear();
        for (Run run : again) {
            Run upsert = new Run(run.spec, Kind.UPSERT, null, false);
            upsert.rows.addAll(run.rows);
            flush(c, upsert);
        }
    }

    /** Sends what {@link #apply} left pending together with one more statement (the checkpoint). */
    void sendWith(Connection c, String sql, OneTrip.Binder binder) throws SQLException {
        trip.add(sql, binder, (count, rows) -> { });
        send(c);
    }

    /**
     * Works out the batch's net effects ahead of {@link #apply}, on the thread that hands batches
     * over while the batch before it is being written: the shadow need not wait for it. It goes by
     * the shapes committed so far; {@link #apply} uses it only if nothing it relied on has changed
     * since (a table's shape, what is known of the order of writes, the shadow's schema), and works
     * it out again otherwise. Nothing is prepared where that needs the shadow (a table not met
     * before). Called from one thread at a time.
     */
    void prepare(ChangeBatch batch) {
        if (batch.events().isEmpty()) {
            return;
        }
        long epochThen = SchemaEpoch.current();
        long generationThen = orderFreeGeneration.get();
        Map<TableId, NetEffect> net;
        try {
            net = netEffects(batch.events(), tables, checkedLayouts, preparedColumnMaps, spec -> orderFree.get(spec.id()));
            if (net != null) {
                org.postgresql.PGConnection arrays = encoder;
                for (NetEffect effect : net.values()) {
                    effect.plan();
                    if (arrays != null) {
                        effect.encode(arrays);
                    }
                }
            }
        }
        catch (SQLException | RuntimeException e) {
            // Whatever went wrong goes wrong again where the batch is applied, and is reported there.
            return;
        }
        if (net != null && !net.isEmpty()) {
            Map<TableId, long[]> counts = new LinkedHashMap<>();
            for (ChangeEvent e : batch.events()) {
                if (!net.containsKey(e.table())) {
                    counts = null;
                    break;
                }
                count(counts, e);
            }
            if (prepared.size() > 4) {
                // Batches prepared but never applied (a stop in between): none is kept for long.
                prepared.clear();
            }
            prepared.put(batch, new Prepared(net, epochThen, generationThen, counts));
        }
    }

    /**
     * Net effects worked out by prepare, and what they relied on; with the batch's counts when
     * every change in it is in those net effects (else null).
     */
    private record Prepared(Map<TableId, NetEffect> net, long epoch, long orderFreeGeneration, Map<TableId, long[]> counts) {
    }

    /** Whether a prepared net effect still holds for the batch about to be applied (see prepare). */
    private boolean holds(Prepared p) {
        if (p.epoch() != SchemaEpoch.current() || p.orderFreeGeneration() != orderFreeGeneration.get()) {
            return false;
        }
        for (NetEffect effect : p.net().values()) {
            if (pendingTables.get(effect.spec.id()) != effect.spec) {
                return false;
            }
        }
        return true;
    }

    /** Forgets whether the order of writes is seen, for one table or (null) all. */
    private void forgetOrderFree(TableId table) {
        orderFreeGeneration.incrementAndGet();
        if (table == null) {
            orderFree.clear();
        }
        else {
            orderFree.remove(table);
        }
    }

    /**
     * Applies more changes in the transaction of the batch being applied, after its own, with the
     * shapes it reached (a resumed table's held changes).
     */
    Map<TableId, TableCounts> applyMore(Connection c, List<ChangeEvent> events, boolean rowAtATime) throws SQLException {
        send(c);
        Map<TableId, long[]> counts = new LinkedHashMap<>();
        applyEvents(c, events, rowAtATime, counts, null);
        send(c);
        return toCounts(counts);
    }

    /**
     * Applies the batch one change at a time, each under a savepoint; a change the shadow rejects
     * (a constraint, a value it refuses) is rolled back alone and handed to {@code rejected}, and
     * the rest of the batch goes on. Faults that may go away are rethrown: the batch is retried.
     */
    Map<TableId, TableCounts> applyTolerant(Connection c, ChangeBatch batch, ShadowWriter.Rejected rejected) throws SQLException {
        newTransaction();
        forgetIfSchemaChanged();
        pendingTables = new HashMap<>(tables);
        pendingLayouts = new IdentityHashMap<>(checkedLayouts);
        Map<TableId, long[]> counts = new LinkedHashMap<>();
        for (ChangeEvent e : batch.events()) {
            Map<TableId, TableSpec> tablesBefore = new HashMap<>(pendingTables);
            Map<List<String>, TableSpec> layoutsBefore = new IdentityHashMap<>(pendingLayouts);
            Map<TableId, long[]> one = new LinkedHashMap<>();
            java.sql.Savepoint savepoint = c.setSavepoint();
            try {
                applyEvents(c, List.of(e), true, one, null);
                send(c);
                c.releaseSavepoint(savepoint);
            }
            catch (SQLException ex) {
                if (dev.scry.backfill.error.SqlErrors.isTransient(ex)) {
                    throw ex;
                }
                c.rollback(savepoint);
                pendingTables = tablesBefore;
                pendingLayouts = layoutsBefore;
                dropPending();
                rejected.accept(e, dev.scry.backfill.error.SqlErrors.describe(ex));
                continue;
            }
            one.forEach((t, n) -> {
                long[] sum = counts.computeIfAbsent(t, k -> new long[5]);
                for (int i = 0; i < 5; i++) {
                    sum[i] += n[i];
                }
            });
        }
        return toCounts(counts);
    }

    private static Map<TableId, TableCounts> toCounts(Map<TableId, long[]> counts) {
        Map<TableId, TableCounts> out = new LinkedHashMap<>();
        counts.forEach((t, n) -> out.put(t, new TableCounts(n[0], n[1], n[2], n[3], n[4])));
        return out;
    }

    /** @param ahead the events' net effects as prepared, or null to work them out here */
    private void applyEvents(Connection c, List<ChangeEvent> events, boolean rowAtATime, Map<TableId, long[]> counts,
                             Map<TableId, NetEffect> ahead) throws SQLException {
        Map<TableId, NetEffect> net = rowAtATime ? Map.of()
                : ahead != null ? ahead
                : netEffects(events, pendingTables, pendingLayouts, columnMaps, spec -> orderFree(c, spec));
        Run run = null;
        for (int i = 0; i < events.size(); i++) {
            ChangeEvent e = events.get(i);
            if (e.op() == Op.SCHEMA) {
                flush(c, run);
                run = null;
                applySchemaChange(c, e);
                continue;
            }
            if (net.containsKey(e.table())) {
                count(counts, e);
                continue;
            }
            TableSpec spec = spec(e.table());
            count(counts, e);
            if (e.op() == Op.TRUNCATE) {
                flush(c, run);
                run = null;
                // One TRUNCATE on the source that covered tables linked by foreign keys arrives as
                // adjacent truncates (one pgoutput message, or one event per table from Debezium);
                // the shadow refuses to truncate a referenced table alone, so they go as one statement.
                List<TableSpec> together = new ArrayList<>(List.of(spec));
                while (i + 1 < events.size() && events.get(i + 1).op() == Op.TRUNCATE && !net.containsKey(events.get(i + 1).table())) {
                    ChangeEvent next = events.get(++i);
                    count(counts, next);
                    together.add(spec(next.table()));
                }
                try (Statement st = c.createStatement()) {
                    st.execute(statements.truncate(together));
                }
                continue;
            }
            if (e.after() != null && pendingLayouts.get(e.after().columns()) != spec) {
                flush(c, run);
                run = null;
                spec = follow(c, spec, e.after());
            }
            if (!spec.hasPrimaryKey() && e.op() != Op.INSERT && e.op() != Op.READ) {
                flush(c, run);
                run = null;
                applyKeyless(c, spec, e);
                continue;
            }
            Kind kind;
            RowImage row;
            BitSet present = null;
            if (e.op() == Op.DELETE) {
                kind = Kind.DELETE;
                row = e.key();
            }
            else if (!spec.hasPrimaryKey()) {
                kind = Kind.INSERT;
                row = e.after();
            }
            else if (e.after().hasUnchanged()) {
                kind = Kind.PARTIAL_UPDATE;
                row = e.after();
                present = specPresent(spec, row);
            }
            else {
                kind = Kind.UPSERT;
                row = e.after();
            }
            if (run == null || !run.accepts(spec, kind, present)) {
                flush(c, run);
                run = newRun(c, spec, kind, present);
            }
            String[] values = toSpecOrder(spec, row);
            if (rowAtATime && !run.rows.isEmpty()) {
                flush(c, run);
                run = newRun(c, spec, kind, present);
            }
            if (!run.add(values)) {
                // Same row twice in one run and the later change cannot simply replace the earlier.
                flush(c, run);
                run = newRun(c, spec, kind, present);
                run.add(values);
            }
        }
        flush(c, run);
        // Left for the trip that carries the checkpoint (see send).
        for (NetEffect effect : net.values()) {
            effect.queue(c);
        }
    }

    /**
     * The tables of this batch whose changes can be applied by their net effect: per primary key,
     * only the last change counts (a delete, or the last full row image), written as one DELETE, one
     * UPDATE (rows the shadow had before the batch) and one upsert (the others) per table whatever
     * the order of the changes in between. With one-row source
     * transactions, a batch otherwise alternates between kinds of change and costs a statement per
     * few rows. The result is the same as applying every change in order when the shadow table has
     * nothing that sees the order of rows being written: no unique index or exclusion constraint
     * besides the primary key, and no foreign key, trigger or rule that acts on the pipeline's
     * writes (see {@link #orderFree}); and when every change of the table in the batch is a full image or a
     * delete in a layout already checked (no unchanged TOAST values to complete, no truncate, no
     * schema change). Deletes go first: a key whose last change is a delete cannot have a later
     * image under another text of the same value (1.0 and 1.00 in a numeric key), because a change
     * of the key's text comes out of the stream as a delete and an insert.
     */
    private Map<TableId, NetEffect> netEffects(List<ChangeEvent> events, Map<TableId, TableSpec> specs,
                                               Map<List<String>, TableSpec> layouts, ColumnMaps maps,
                                               OrderFree orderFree) throws SQLException {
        Map<TableId, NetEffect> net = new java.util.LinkedHashMap<>();
        if (events.stream().anyMatch(e -> e.op() == Op.SCHEMA)) {
            // A schema change between rows: each row must meet the schema it was written under.
            return net;
        }
        java.util.Set<TableId> sequential = new java.util.HashSet<>();
        // The table and the row layout of the change before, met again in most changes of a batch.
        TableId lastTable = null;
        NetEffect lastEffect = null;
        List<String> lastLayout = null;
        for (ChangeEvent e : events) {
            TableId table = e.table();
            NetEffect effect;
            TableSpec spec;
            if (lastEffect != null && (table == lastTable || table.equals(lastTable))) {
                effect = lastEffect;
                spec = effect.spec;
            }
            else {
                if (sequential.contains(table)) {
                    continue;
                }
                spec = specs.get(table);
                effect = net.get(table);
            }
            boolean fits = spec != null && spec.hasPrimaryKey() && e.op() != Op.TRUNCATE
                    && (e.op() == Op.DELETE ? e.key() != null
                        : e.after() != null && !e.after().hasUnchanged()
                          && (effect != null && effect == lastEffect && e.after().columns() == lastLayout
                              || layouts.get(e.after().columns()) == spec));
            if (fits && effect == null) {
                Boolean free = orderFree.test(spec);
                if (free == null) {
                    return null;
                }
                fits = free;
            }
            if (!fits) {
                sequential.add(table);
                net.remove(table);
                lastEffect = null;
                continue;
            }
            if (effect == null) {
                effect = new NetEffect(spec);
                net.put(table, effect);
            }
            if (effect != lastEffect) {
                lastLayout = null;
            }
            lastTable = table;
            lastEffect = effect;
            if (e.op() != Op.DELETE) {
                lastLayout = e.after().columns();
            }
            if (e.op() == Op.DELETE) {
                effect.change(toSpecOrder(spec, e.key(), maps), true, true);
            }
            else {
                // An update that kept its key (a key change arrives as a delete and an insert)
                // finds the row where the source had it before.
                effect.change(toSpecOrder(spec, e.after(), maps), false, e.op() == Op.UPDATE && e.key() == null);
            }
        }
        return net;
    }

    /** Whether the order of a table's writes can be seen; null when that is not known without asking the shadow. */
    @FunctionalInterface
    private interface OrderFree {
        Boolean test(TableSpec spec) throws SQLException;
    }

    /**
     * Whether nothing on the shadow table (or its partitions) sees the order in which rows are
     * written. A unique or exclusion index other than the one over the key the rows are written by always does. Foreign keys,
     * triggers and rules do only where they act: the pipeline's sessions normally run with
     * {@code session_replication_role = replica} (see {@link ReplicaRole}), where foreign keys
     * and ordinary triggers and rules do not, and only those enabled ALWAYS or REPLICA fire.
     */
    private boolean orderFree(Connection c, TableSpec spec) throws SQLException {
        Boolean known = orderFree.get(spec.id());
        if (known != null) {
            return known;
        }
        boolean free;
        try (PreparedStatement ps = c.prepareStatement("""
                WITH tree AS (SELECT ?::regclass AS relid UNION SELECT relid FROM pg_partition_tree(?::regclass)),
                     replica AS (SELECT current_setting('session_replication_role') = 'replica' AS active)
                SELECT t.relkind IN ('r', 'p')
                   AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid IN (SELECT relid FROM tree)
                                   AND (i.indisunique OR i.indisexclusion)
                                   AND NOT (i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
                                            AND ARRAY(SELECT a.attname::text FROM unnest(i.indkey[0:i.indnkeyatts - 1]) AS u(attnum)
                                                      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum ORDER BY 1)
                                                = ARRAY(SELECT unnest(?::text[]) ORDER BY 1)))
                   AND ((SELECT active FROM replica) OR NOT EXISTS (SELECT 1 FROM pg_constraint k
                        WHERE (k.conrelid IN (SELECT relid FROM tree) OR k.confrelid IN (SELECT relid FROM tree)) AND k.contype = 'f'))
                   AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid IN (SELECT relid FROM tree) AND NOT g.tgisinternal
                                   AND g.tgenabled <> 'D' AND (NOT (SELECT active FROM replica) OR g.tgenabled IN ('A', 'R')))
                   AND NOT EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.ev_class IN (SELECT relid FROM tree) AND r.ev_enabled <> 'D'
                                   AND (NOT (SELECT active FROM replica) OR r.ev_enabled IN ('A', 'R')))
                FROM pg_class t WHERE t.oid = ?::regclass""")) {
            ps.setString(1, spec.id().quoted());
            ps.setString(2, spec.id().quoted());
            ps.setArray(3, c.createArrayOf("text", spec.primaryKey().toArray()));
            ps.setString(4, spec.id().quoted());
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                free = rs.next() && rs.getBoolean(1);
            }
        }
        orderFree.put(spec.id(), free);
        return free;
    }

    /**
     * The last change per key of one table in a batch, and whether the row was on the shadow
     * before it: the first change to the key was an update that kept it, or a delete.
     */
    private final class NetEffect {
        final TableSpec spec;
        final int[] keyColumns;
        final Map<Key, Last> last = new java.util.LinkedHashMap<>();

        NetEffect(TableSpec spec) {
            this.spec = spec;
            this.keyColumns = ApplyStatements.keyColumns(spec);
        }

        /** A key's last change: its row's values, or the key's values when it was deleted. */
        private static final class Last {
            String[] values;
            boolean deleted;
            final boolean existed;

            Last(String[] values, boolean deleted, boolean existed) {
                this.values = values;
                this.deleted = deleted;
                this.existed = existed;
            }
        }

        /**
         * A key's change: its values, and whether it deletes the row. Whether the row was on the
         * shadow before the batch is the key's first change's to say ({@code existedIfFirst}).
         */
        void change(String[] values, boolean deleted, boolean existedIfFirst) {
            Key key = new Key(keyColumns, values);
            Last l = last.get(key);
            if (l == null) {
                last.put(key, new Last(values, deleted, existedIfFirst));
            }
            else {
                l.values = values;
                l.deleted = deleted;
            }
        }

        /**
         * Deletes first, then the rows that were on the shadow by UPDATE, then the new ones by
         * upsert, added to the trip. An UPDATE that finds fewer rows than it was given (a shadow
         * that lost rows) has them written again by upsert once the trip is sent, which puts
         * them in place either way.
         */
        void queue(Connection c) throws SQLException {
            if (deletes == null) {
                plan();
            }
            BatchApplier.this.queue(c, deletes);
            BatchApplier.this.queue(c, updates);
            BatchApplier.this.queue(c, upserts);
        }

        /** Creates the statements' arrays ahead (see prepare). */
        void encode(org.postgresql.PGConnection arrays) throws SQLException {
            for (Run run : List.of(deletes, updates, upserts)) {
                run.encode(arrays);
            }
        }

        private Run deletes;
        private Run updates;
        private Run upserts;

        /** Sorts the rows into the three statements and binds their arrays: work prepare does ahead. */
        void plan() {
            deletes = new Run(spec, Kind.DELETE, null, false);
            updates = new Run(spec, Kind.UPDATE, null, false);
            upserts = new Run(spec, Kind.UPSERT, null, false);
            boolean byUpdate = ApplyStatements.updatableByKey(spec);
            for (Last l : last.values()) {
                (l.deleted ? deletes : l.existed && byUpdate ? updates : upserts).rows.add(l.values);
            }
            for (Run run : List.of(deletes, updates, upserts)) {
                run.bind(statement(run));
            }
        }
    }

    /** A run in source order; its upserts may replace a row's earlier image in place where the table cannot see it. */
    private Run newRun(Connection c, TableSpec spec, Kind kind, BitSet present) throws SQLException {
        return new Run(spec, kind, present, kind == Kind.UPSERT && orderFree(c, spec));
    }

    /**
     * A schema change captured on the source, between the rows before and after it: the shadow
     * tables it altered are read again, and every row layout is checked against them anew.
     */
    private void applySchemaChange(Connection c, ChangeEvent e) throws SQLException {
        if (ddl == null) {
            return;
        }
        java.util.Set<TableId> tracked = new java.util.HashSet<>(pendingTables.keySet());
        tracked.addAll(joined.keySet());
        restoreJoins(c);
        java.util.Set<TableId> altered = ddl.apply(c, e.schema(), tracked);
        forgetOrderFree(null);
        for (TableId t : altered) {
            TableSpec spec = spec(t);
            java.util.Optional<TableSpec> now = ShadowSchema.describe(c, t);
            if (now.isEmpty()) {
                continue;
            }
            TableSpec fresh = new TableSpec(t, now.get().columns(), spec.primaryKey());
            pendingTables.put(t, fresh);
            pendingLayouts.values().removeIf(v -> v.id().equals(t));
        }
    }

    /** A row layout not yet checked against the table's shape: follow the source's schema change, if any. */
    private TableSpec follow(Connection c, TableSpec spec, RowImage row) throws SQLException {
        TableSpec followed = follower.follow(c, spec, row.columns(), row.sourceTypes());
        forgetOrderFree(spec.id());
        pendingTables.put(spec.id(), followed);
        pendingLayouts.put(row.columns(), followed);
        return followed;
    }

    /**
     * A table without a key (REPLICA IDENTITY FULL) is changed one row at a time: the old row image
     * is the only way to find the row, and two identical rows are two rows, so one of them is changed.
     */
    private void applyKeyless(Connection c, TableSpec spec, ChangeEvent e) throws SQLException {
        if (e.key() == null) {
            throw new PipelineFailure("a change to " + spec.id() + " (no key) arrived without the old row; the table needs"
                    + " REPLICA IDENTITY FULL on the source");
        }
        String[] old = toSpecOrder(spec, e.key());
        ApplyStatements.Statement statement;
        String[] params;
        if (e.op() == Op.DELETE) {
            statement = statements.deleteOne(spec);
            params = old;
        }
        else {
            String[] now = toSpecOrder(spec, e.after());
            for (int i = 0; i < e.after().size(); i++) {
                if (e.after().isUnchanged(i)) {
                    int at = spec.columnIndex(e.after().column(i));
                    now[at] = old[at];
                }
            }
            statement = statements.updateOne(spec);
            params = new String[now.length * 2];
            System.arraycopy(now, 0, params, 0, now.length);
            System.arraycopy(old, 0, params, now.length, old.length);
        }
        try (PreparedStatement ps = c.prepareStatement(statement.sql())) {
            for (int p = 0; p < params.length; p++) {
                ps.setString(p + 1, params[p]);
            }
            if (ps.executeUpdate() != 1) {
                throw new PipelineFailure("a " + e.op() + " on " + spec.id() + " (no key) found no matching row on the shadow;"
                        + " the shadow has diverged from the source: re-run the snapshot (teardown --drop-metadata, then snapshot)");
            }
        }
    }

    /** A table copied to the shadow while the pipeline runs; its changes follow in the stream. */
    void join(TableSpec spec) {
        joined.put(spec.id(), spec);
    }

    private TableSpec spec(TableId table) {
        TableSpec spec = pendingTables.get(table);
        if (spec == null && joined.containsKey(table)) {
            spec = joined.get(table);
            pendingTables.put(table, spec);
        }
        if (spec == null) {
            throw new PipelineFailure("a change arrived for " + table + ", which the shadow does not track");
        }
        return spec;
    }

    private static void count(Map<TableId, long[]> counts, ChangeEvent e) {
        if (e.op() == Op.SCHEMA) {
            return;
        }
        long[] n = counts.computeIfAbsent(e.table(), t -> new long[5]);
        switch (e.op()) {
            case READ -> n[0]++;
            case INSERT -> n[1]++;
            case UPDATE -> n[2]++;
            case DELETE -> n[3]++;
            case TRUNCATE -> n[4]++;
            default -> throw new IllegalStateException();
        }
    }

    /** Where each column of a row layout sits in one version of a table's shape. */
    private record Mapping(TableSpec spec, int[] positions) {
    }

    /**
     * Mappings by row layout (the decoder's list, by identity). Consecutive rows nearly always share
     * a layout, so the last one is kept at hand: the identity map's lookup was a fifth of the
     * time the reading thread spent preparing a batch.
     */
    private static final class ColumnMaps {
        private final Map<List<String>, Mapping> byLayout = new IdentityHashMap<>();
        private List<String> lastLayout;
        private Mapping last;

        Mapping get(List<String> layout) {
            if (layout != lastLayout) {
                last = byLayout.get(layout);
                lastLayout = layout;
            }
            return last;
        }

        void put(List<String> layout, Mapping mapping) {
            byLayout.put(layout, mapping);
            lastLayout = layout;
            last = mapping;
        }
    }

    /** Values rearranged into the table's column order (null where the row image lacks a column). */
    private String[] toSpecOrder(TableSpec spec, RowImage row) {
        return toSpecOrder(spec, row, columnMaps);
    }

    private static String[] toSpecOrder(TableSpec spec, RowImage row, ColumnMaps columnMaps) {
        Mapping mapping = columnMaps.get(row.columns());
        if (mapping == null || mapping.spec() != spec) {
            List<String> cols = row.columns();
            int[] m = new int[cols.size()];
            for (int i = 0; i < m.length; i++) {
                m[i] = spec.columnIndex(cols.get(i));
                if (m[i] < 0) {
                    throw new PipelineFailure("column " + cols.get(i) + " of " + spec.id() + " is not on the shadow table");
                }
            }
            mapping = new Mapping(spec, m);
            columnMaps.put(cols, mapping);
        }
        int[] map = mapping.positions();
        String[] values = new String[spec.columns().size()];
        for (int i = 0; i < map.length; i++) {
            values[map[i]] = row.value(i);
        }
        return values;
    }

    private static BitSet specPresent(TableSpec spec, RowImage row) {
        BitSet present = new BitSet(spec.columns().size());
        for (int i = 0; i < row.size(); i++) {
            if (!row.isUnchanged(i)) {
                present.set(spec.columnIndex(row.column(i)));
            }
        }
        return present;
    }

    /** Writes the run at once; false when an UPDATE run found fewer rows than it was given (nothing else returns false). */
    private boolean flush(Connection c, Run run) throws SQLException {
        if (run == null || run.rows.isEmpty()) {
            return true;
        }
        if (run.bound == null) {
            run.bind(statement(run));
        }
        if (run.kind != Kind.UPSERT && run.kind != Kind.INSERT) {
            byKey(c);
        }
        Array[] arrays = run.arrays(c);
        try (PreparedStatement ps = c.prepareStatement(run.statement.sql())) {
            setArrays(ps, 1, arrays);
            return written(run, ps.executeUpdate());
        }
    }

    /** Adds the run to the trip (see send). */
    private void queue(Connection c, Run run) throws SQLException {
        if (run.rows.isEmpty()) {
            return;
        }
        if (run.bound == null) {
            run.bind(statement(run));
        }
        if (run.kind != Kind.UPSERT && run.kind != Kind.INSERT && joinSettings == null && !byKeyQueued) {
            byKeyQueued = true;
            trip.add(BY_KEY, (ps, first) -> first, (count, rows) -> joinSettings = joinSettings(rows));
        }
        Array[] arrays = run.arrays(c);
        trip.add(run.statement.sql(), (ps, first) -> setArrays(ps, first, arrays), (count, rows) -> {
            if (!written(run, count)) {
                missed.add(run);
            }
        });
    }

    /** Binds arrays from parameter {@code first} on; returns the index after the last. */
    private static int setArrays(PreparedStatement ps, int first, Array[] arrays) throws SQLException {
        for (int p = 0; p < arrays.length; p++) {
            ps.setArray(first + p, arrays[p]);
        }
        return first + arrays.length;
    }

    /**
     * Checks what a run's statement changed ({@code changed} rows); false when an UPDATE run found
     * fewer rows than it was given (nothing else returns false).
     */
    private static boolean written(Run run, int changed) {
        int rows = run.rows.size();
        if (run.kind == Kind.UPSERT && changed != rows && ApplyStatements.guardsIdentity(run.spec)) {
            throw new PipelineFailure("an update on " + run.spec.id() + " changed the value of a GENERATED ALWAYS identity column"
                    + " outside its key, which PostgreSQL lets no UPDATE write on the shadow; alter that column on the shadow to"
                    + " GENERATED BY DEFAULT (ALTER TABLE ... ALTER COLUMN ... SET GENERATED BY DEFAULT), then run `resume`");
        }
        if (run.kind == Kind.PARTIAL_UPDATE && changed != rows) {
            throw new PipelineFailure("an update on " + run.spec.id() + " left some values unsent (unchanged TOAST) but "
                    + (rows - changed) + " of its rows are missing on the shadow, so their values cannot be completed;"
                    + " the shadow has diverged from the source: re-run the snapshot (teardown --drop-metadata, then snapshot)");
        }
        return run.kind != Kind.UPDATE || changed == rows;
    }

    /**
     * UPDATE, DELETE and the partial update find their rows by joining the unnested arrays to the
     * table on its key. For a few thousand rows against a table of 20,000 to a few hundred thousand
     * the planner prefers a hash join over a scan of the whole table, which cost 3 to 6 times the
     * key lookups here (4,096 rows against 100,000: UPDATE 93 ms against 25, DELETE 53 against 9).
     * Hash and merge joins are off from the first such statement of the batch's transaction to its
     * end, which holds the batch's rows and its checkpoint, or until a schema change captured on
     * the source is applied: a user's statement gets the session's settings back (see
     * {@link #restoreJoins}).
     */
    private void byKey(Connection c) throws SQLException {
        if (joinSettings == null) {
            try (PreparedStatement ps = c.prepareStatement(BY_KEY); java.sql.ResultSet rs = ps.executeQuery()) {
                joinSettings = joinSettings(rs);
            }
        }
    }

    private static final String BY_KEY = "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin'),"
            + " set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)";

    /** The session's join settings, from BY_KEY's row. */
    private static String[] joinSettings(java.sql.ResultSet rs) throws SQLException {
        if (!rs.next()) {
            throw new SQLException("reading the join settings returned no row");
        }
        return new String[] {rs.getString(1), rs.getString(2)};
    }

    /** Gives the transaction the session's join settings back (see {@link #byKey}). */
    private void restoreJoins(Connection c) throws SQLException {
        if (joinSettings != null) {
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('enable_hashjoin', ?, true), set_config('enable_mergejoin', ?, true)")) {
                ps.setString(1, joinSettings[0]);
                ps.setString(2, joinSettings[1]);
                ps.executeQuery().close();
            }
            joinSettings = null;
        }
    }

    private ApplyStatements.Statement statement(Run run) {
        return switch (run.kind) {
            case UPSERT -> statements.upsert(run.spec);
            case INSERT -> statements.insert(run.spec);
            case PARTIAL_UPDATE -> statements.partialUpdate(run.spec, run.present);
            case UPDATE -> statements.update(run.spec);
            case DELETE -> statements.delete(run.spec);
        };
    }

    /** Consecutive changes of one kind to one table, keyed by primary key. */
    private static final class Run {
        final TableSpec spec;
        final Kind kind;
        final BitSet present;
        final List<String[]> rows = new ArrayList<>();
        final Map<Key, Integer> byKey = new HashMap<>();
        final int[] keyColumns;
        // Whether a later image of a row may take the place of its earlier one in the run, which
        // moves it ahead of the rows in between: only where the shadow table cannot see that.
        final boolean replaceInPlace;
        // The statement and its parameters, one array per bound column, once the run is complete;
        // and those arrays as pgjdbc sends them, when prepare created them ahead.
        ApplyStatements.Statement statement;
        String[][] bound;
        Array[] arrays;

        Run(TableSpec spec, Kind kind, BitSet present, boolean replaceInPlace) {
            this.spec = spec;
            this.kind = kind;
            this.present = present;
            this.keyColumns = ApplyStatements.keyColumns(spec);
            this.replaceInPlace = replaceInPlace;
        }

        /** Takes the rows' values apart into the statement's arrays; no row is added after. */
        void bind(ApplyStatements.Statement s) {
            statement = s;
            int[] columns = s.columns();
            bound = new String[columns.length][];
            for (int p = 0; p < columns.length; p++) {
                String[] column = new String[rows.size()];
                for (int r = 0; r < column.length; r++) {
                    column[r] = rows.get(r)[columns[p]];
                }
                bound[p] = column;
            }
        }

        /** Creates the statement's arrays ahead of sending them (see prepare). */
        void encode(org.postgresql.PGConnection c) throws SQLException {
            if (!rows.isEmpty()) {
                arrays = make(c::createArrayOf);
            }
        }

        /**
         * The statement's arrays, as created ahead or now. Where a column's values do not all
         * parse as its array's type (a shadow column whose type differs from the source's), the
         * run goes with the statement's text form instead: the server casts, or says why not.
         */
        Array[] arrays(Connection c) throws SQLException {
            if (arrays == null) {
                arrays = make(c::createArrayOf);
            }
            return arrays;
        }

        private Array[] make(ArrayMaker maker) throws SQLException {
            Object[][] values = new Object[bound.length][];
            for (int p = 0; p < bound.length; p++) {
                values[p] = parsed(statement.type(p), bound[p]);
                if (values[p] == null) {
                    statement = statement.asText();
                    return make(maker);
                }
            }
            Array[] made = new Array[bound.length];
            for (int p = 0; p < bound.length; p++) {
                made[p] = maker.make(statement.type(p), values[p]);
            }
            return made;
        }

        boolean accepts(TableSpec s, Kind k, BitSet p) {
            return s == spec && k == kind && (p == null ? present == null : p.equals(present));
        }

        /**
         * Adds a row; a later full image of a row already in the run replaces it where the table's
         * order of writes cannot be seen (the final state is the same as applying both in order).
         * Returns false when the run must be cut instead.
         */
        boolean add(String[] values) {
            Key key = new Key(keyColumns, values);
            Integer at = byKey.get(key);
            if (at == null) {
                byKey.put(key, rows.size());
                rows.add(values);
                return true;
            }
            if (kind == Kind.DELETE) {
                return true;
            }
            if (kind == Kind.INSERT) {
                rows.add(values);
                return true;
            }
            if (kind == Kind.UPSERT && replaceInPlace) {
                rows.set(at, values);
                return true;
            }
            return false;
        }
    }

    /** Creates an array (a connection's createArrayOf). */
    @FunctionalInterface
    private interface ArrayMaker {
        Array make(String type, Object[] elements) throws SQLException;
    }

    /**
     * Values in an array type's Java form: the text itself for text, the numbers for the integer
     * types (see {@link ApplyStatements#elementType}); null when one does not parse as such.
     */
    static Object[] parsed(String type, String[] texts) {
        try {
            switch (type) {
                case "int8" -> {
                    Long[] out = new Long[texts.length];
                    for (int i = 0; i < texts.length; i++) {
                        out[i] = texts[i] == null ? null : Long.parseLong(texts[i]);
                    }
                    return out;
                }
                case "int4" -> {
                    Integer[] out = new Integer[texts.length];
                    for (int i = 0; i < texts.length; i++) {
                        out[i] = texts[i] == null ? null : Integer.parseInt(texts[i]);
                    }
                    return out;
                }
                case "int2" -> {
                    Short[] out = new Short[texts.length];
                    for (int i = 0; i < texts.length; i++) {
                        out[i] = texts[i] == null ? null : Short.parseShort(texts[i]);
                    }
                    return out;
                }
                default -> {
                    return texts;
                }
            }
        }
        catch (NumberFormatException e) {
            return null;
        }
    }

    /** Primary-key values of a row, for spotting the same row twice in a run. */
    private static final class Key {
        private final String[] parts;
        private final int hash;

        Key(int[] columns, String[] values) {
            parts = new String[columns.length];
            int h = 1;
            for (int i = 0; i < columns.length; i++) {
                parts[i] = values[columns[i]];
                h = 31 * h + (parts[i] == null ? 0 : parts[i].hashCode());
            }
            hash = h;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && java.util.Arrays.equals(parts, k.parts);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
