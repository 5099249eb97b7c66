package dev.scry.backfill.sink;

import dev.scry.backfill.error.RetryPolicy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/** The shadow sink against a real PostgreSQL: what a batch does to the table and to the checkpoint. */
class ShadowSinkIT {

    private static final TableId ITEMS = new TableId("inv", "Items \"x\"");
    private static final TableSpec SPEC = new TableSpec(ITEMS, List.of(
            new ColumnSpec("id", "bigint", true, "int8", false),
            new ColumnSpec("name", "text", true, "text", false),
            new ColumnSpec("doc", "jsonb", false, "jsonb", false),
            new ColumnSpec("price", "numeric(10,2)", false, "numeric", false)), List.of("id"));
    private static final List<String> COLUMNS = List.of("id", "name", "doc", "price");

    private static Databases db;
    private static ShadowSink sink;
    private static CheckpointStore checkpoints;
    private static long lsn;

    @BeforeAll
    static void start() throws SQLException {
        db = PgPair.get().newDatabases("sink_it");
        try (Connection c = db.shadow()) {
            checkpoints = new CheckpointStore(db.name());
            MetadataSchema.ensure(c);
            ShadowSchema.ensureTables(c, List.of(SPEC), false);
        }
        var server = db.shadowServer();
        sink = new ShadowSink(new SinkSettings(db.name(), "slot_" + db.name(),
                new ConnectionSettings(server.host(), server.port(), db.name(), server.user(), server.password()),
                new RetryPolicy(Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofSeconds(2))), Map.of(ITEMS, SPEC), SourceSchema.NONE);
    }

    @AfterAll
    static void stop() {
        sink.close();
        db.close();
    }

    @BeforeEach
    void empty() throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("TRUNCATE " + ITEMS.quoted());
        }
    }

    @Test
    void createsShadowTableWithTheSourceTypesAndKey() throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull"
                     + " THEN ' not null' ELSE '' END, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '"
                     + ITEMS.quoted().replace("'", "''") + "'::regclass AND attnum > 0")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("id bigint not null, name text not null, doc jsonb, price numeric(10,2)");
        }
    }

    @Test
    void appliesChangesInSourceOrder() throws Exception {
        apply(upsert(Op.READ, "1", "a", "{\"k\": [1, 2]}", "1.50"), upsert(Op.READ, "2", "b", null, null));
        apply(upsert(Op.UPDATE, "1", "a2", "{}", "2.00"), delete("2"), upsert(Op.INSERT, "2", "b-again", null, "0.10"),
                upsert(Op.INSERT, "3", "c", "[]", null));

        assertThat(rows()).containsExactly("(1,a2,{},2.00)", "(2,b-again,,0.10)", "(3,c,[],)");
    }

    @Test
    void laterImageOfTheSameRowInOneBatchWins() throws Exception {
        apply(upsert(Op.INSERT, "7", "first", null, null), upsert(Op.UPDATE, "7", "second", null, null),
                upsert(Op.UPDATE, "7", "third", null, "3.00"));

        assertThat(rows()).containsExactly("(7,third,,3.00)");
    }

    @Test
    void truncateEmptiesTheTableBetweenOtherChanges() throws Exception {
        apply(upsert(Op.INSERT, "1", "a", null, null), upsert(Op.INSERT, "2", "b", null, null),
                ChangeEvent.truncate(ITEMS), upsert(Op.INSERT, "3", "c", null, null));

        assertThat(rows()).containsExactly("(3,c,,)");
    }

    @Test
    void unchangedToastedColumnsKeepTheShadowValue() throws Exception {
        apply(upsert(Op.INSERT, "1", "a", "{\"big\": true}", "1.00"));
        BitSet unchanged = new BitSet();
        unchanged.set(2);
        RowImage partial = new RowImage(COLUMNS, new String[] {"1", "renamed", null, "9.99"}, unchanged);

        apply(new ChangeEvent(ITEMS, Op.UPDATE, null, partial));

        assertThat(rows()).containsExactly("(1,renamed,\"{\"\"big\"\": true}\",9.99)");
    }

    @Test
    void unchangedToastedColumnsOfAMissingRowStopThePipeline() {
        BitSet unchanged = new BitSet();
        unchanged.set(2);
        RowImage partial = new RowImage(COLUMNS, new String[] {"42", "ghost", null, null}, unchanged);

        assertThatThrownBy(() -> apply(new ChangeEvent(ITEMS, Op.UPDATE, null, partial)))
                .isInstanceOf(PipelineFailure.class).hasMessageContaining("missing on the shadow");
    }

    @Test
    void checkpointCommitsWithTheRows() throws Exception {
        SourcePosition end = apply(upsert(Op.INSERT, "1", "a", null, null));

        try (Connection c = db.shadow()) {
            Checkpoint cp = checkpoints.read(c).orElseThrow();
            assertThat(cp.lsn()).isEqualTo(end.lsn());
            assertThat(cp.phase()).isEqualTo(Phase.STREAMING);
            assertThat(cp.offset()).contains(Map.of("lsn", (int) end.lsn().value(), "n", "x"));
            assertThat(checkpoints.progress(c).get(ITEMS).inserts()).isPositive();
        }
    }

    @Test
    void rejectedBatchLeavesRowsAndCheckpointUntouched() throws Exception {
        apply(upsert(Op.INSERT, "1", "a", null, null));
        Optional<Checkpoint> before;
        try (Connection c = db.shadow()) {
            before = checkpoints.read(c);
        }

        // NULL into a NOT NULL column: the shadow rejects the whole batch.
        assertThatThrownBy(() -> apply(upsert(Op.INSERT, "2", "b", null, null), upsert(Op.INSERT, "3", null, null, null)))
                .isInstanceOf(PipelineFailure.class).hasMessageContaining("23502");

        assertThat(rows()).containsExactly("(1,a,,)");
        try (Connection c = db.shadow()) {
            assertThat(checkpoints.read(c).orElseThrow().lsn()).isEqualTo(before.orElseThrow().lsn());
        }
    }

    @Test
    void existingShadowTableWithAnotherTypeIsRefused() throws SQLException {
        TableSpec wider = new TableSpec(ITEMS, List.of(
                new ColumnSpec("id", "bigint", true, "int8", false),
                new ColumnSpec("name", "character varying(10)", true, "varchar", false),
                new ColumnSpec("doc", "jsonb", false, "jsonb", false),
                new ColumnSpec("price", "numeric(10,2)", false, "numeric", false)), List.of("id"));
        try (Connection c = db.shadow()) {
            assertThatThrownBy(() -> ShadowSchema.ensureTables(c, List.of(wider), false))
                    .isInstanceOf(SetupException.class)
                    .hasMessageContaining("column name is text but the source's is character varying(10)");
        }
    }

    @Test
    void aBatchOfInterleavedChangesIsWrittenAsItsNetEffectPerKey() throws Exception {
        KeyText t = KeyText.of("net_t", "v");
        try (ShadowSink own = sinkFor(t.spec())) {
            apply(own, t.row(Op.INSERT, "1", "a"), t.row(Op.INSERT, "2", "b"),
                    t.row(Op.INSERT, "3", "c"));
            apply(own, t.delete("1"), t.row(Op.INSERT, "1", "a2"), t.row(Op.UPDATE, "2", "b2"),
                    t.delete("2"), t.row(Op.INSERT, "4", "d"), t.row(Op.UPDATE, "4", "d2"),
                    t.delete("3"), t.row(Op.INSERT, "3", "c2"), t.row(Op.UPDATE, "1", "a3"));
        }

        assertThat(rows(t.table())).containsExactly("(1,a3)", "(3,c2)", "(4,d2)");
        // Three deletes in the batch, but only key 2 ends deleted: the shadow deleted one row. The
        // server publishes a transaction's counts together, once the backend is idle.
        long deleted = -1;
        for (long deadline = System.nanoTime() + 30_000_000_000L; System.nanoTime() < deadline && deleted < 1; ) {
            deleted = shadowLong("SELECT n_tup_del FROM pg_stat_user_tables WHERE relid = 'public.net_t'::regclass");
            Thread.onSpinWait();
        }
        assertThat(deleted).isEqualTo(1);
    }

    @Test
    void anUpdateOfARowTheShadowLostWritesTheRowAllTheSame() throws Exception {
        KeyText t = KeyText.of("lost_t", "v");
        try (ShadowSink own = sinkFor(t.spec())) {
            apply(own, t.row(Op.INSERT, "1", "a"), t.row(Op.INSERT, "2", "b"),
                    t.row(Op.INSERT, "3", "c"));
            try (Connection c = db.shadow(); Statement st = c.createStatement()) {
                st.execute("DELETE FROM lost_t WHERE id = 2");
            }
            // Rows that were there before the batch are written by UPDATE; one that is not there
            // any more is found missing and the rows are written by upsert instead.
            apply(own, t.row(Op.UPDATE, "1", "a2"), t.row(Op.UPDATE, "2", "b2"),
                    t.row(Op.INSERT, "4", "d"), t.row(Op.UPDATE, "3", "c2"));
        }

        assertThat(rows(t.table())).containsExactly("(1,a2)", "(2,b2)", "(3,c2)", "(4,d)");
    }

    @Test
    void integerColumnsKeepTheirExtremesAndNullsAndValuesOnlyTheServerParsesStillArrive() throws Exception {
        TableId table = new TableId("public", "ints_t");
        TableSpec spec = new TableSpec(table, List.of(new ColumnSpec("id", "bigint", true, "int8", false),
                new ColumnSpec("s", "smallint", false, "int2", false), new ColumnSpec("i", "integer", false, "int4", false)), List.of("id"));
        List<String> columns = List.of("id", "s", "i");
        java.util.function.BiFunction<Op, String[], ChangeEvent> row = (op, v) -> new ChangeEvent(table, op, null, new RowImage(columns, v, null));
        try (ShadowSink own = sinkFor(spec)) {
            apply(own, row.apply(Op.INSERT, new String[] {"-9223372036854775808", "-32768", null}),
                    row.apply(Op.INSERT, new String[] {"9223372036854775807", null, "2147483647"}),
                    row.apply(Op.INSERT, new String[] {"3", "3", "3"}));
            // " 4" is an int2 to the server (a shadow column whose type differs from the source's
            // may get such text), not to Java: the run goes with text arrays, which the server casts.
            apply(own, row.apply(Op.UPDATE, new String[] {"3", " 4", "+5"}),
                    new ChangeEvent(table, Op.DELETE, new RowImage(List.of("id"), new String[] {"-9223372036854775808"}, null), null));
        }
        assertThat(rows(table)).containsExactly("(3,4,5)", "(9223372036854775807,,2147483647)");
    }

    @Test
    void updatesAndDeletesFindTheirRowsByKeyNeverByScanningTheTable() throws Exception {
        KeyText t = KeyText.of("by_key_t", "v");
        long scansBefore;
        long lookupsBefore;
        try (ShadowSink own = sinkFor(t.spec())) {
            try (Connection c = db.shadow(); Statement st = c.createStatement()) {
                // A mid-sized table, where the planner would rather hash the whole table than look up thousands of keys.
                st.execute("INSERT INTO by_key_t SELECT g, 'v' || g FROM generate_series(1, 100000) g");
                st.execute("ANALYZE by_key_t");
            }
            // The sink checks a row layout against the table the first time it meets it, a batch written in source order.
            apply(own, t.row(Op.UPDATE, "100000", "first"));
            scansBefore = shadowLong("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'public.by_key_t'::regclass");
            lookupsBefore = shadowLong("SELECT idx_scan FROM pg_stat_user_tables WHERE relid = 'public.by_key_t'::regclass");
            List<ChangeEvent> events = new ArrayList<>();
            for (int id = 1; id <= 12000; id++) {
                events.add(id % 3 == 0 ? t.delete(Integer.toString(id)) : t.row(Op.UPDATE, Integer.toString(id), "w" + id));
            }
            apply(own, events.toArray(ChangeEvent[]::new));
        }

        // The sink's sessions report their counts as they end.
        long lookups = lookupsBefore;
        for (long deadline = System.nanoTime() + 30_000_000_000L; System.nanoTime() < deadline && lookups < lookupsBefore + 12000; ) {
            lookups = shadowLong("SELECT idx_scan FROM pg_stat_user_tables WHERE relid = 'public.by_key_t'::regclass");
            Thread.onSpinWait();
        }
        assertThat(lookups).isGreaterThanOrEqualTo(lookupsBefore + 12000);
        assertThat(shadowLong("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'public.by_key_t'::regclass")).isEqualTo(scansBefore);
        assertThat(shadowLong("SELECT count(*) FROM by_key_t")).isEqualTo(96000);
        assertThat(shadowLong("SELECT count(*) FROM by_key_t WHERE id <= 12000 AND v = 'w' || id")).isEqualTo(8000);
        assertThat(rows(t.table())).contains("(100000,first)");
    }

    @Test
    void aBatchPreparedBeforeTheShadowsSchemaChangedIsWorkedOutAgain() throws Exception {
        KeyText t = KeyText.of("prepared_t", "email");
        try (ShadowSink own = sinkFor(t.spec())) {
            apply(own, t.row(Op.INSERT, "1", "a"), t.row(Op.INSERT, "2", "b"));
            // In source order key 2 gives up "b" for key 1 and then takes the "a" key 1 gave up; by
            // net effect key 2 (met first) would take "a" while key 1 still has it.
            lsn += 100;
            ChangeBatch batch = new ChangeBatch(List.of(t.row(Op.UPDATE, "2", "q"), t.row(Op.UPDATE, "1", "b"),
                    t.row(Op.UPDATE, "2", "a")), new SourcePosition(Phase.STREAMING, new Lsn(lsn), Map.of("lsn", lsn)), 1,
                    false, List.of());
            // Worked out while the table had nothing that sees the order of writes...
            own.prepare(batch);
            try (Connection c = db.shadow(); Statement st = c.createStatement()) {
                st.execute("CREATE UNIQUE INDEX prepared_email ON prepared_t (email)");
            }
            // ...which changed before the batch's turn (the drift check says so when it changes the shadow).
            SchemaEpoch.bump();
            own.apply(batch);
        }

        assertThat(rows(t.table())).containsExactly("(1,b)", "(2,a)");
    }

    @Test
    void aTableWithAnotherUniqueIndexIsWrittenInSourceOrder() throws Exception {
        KeyText t = KeyText.of("people", "email");
        try (ShadowSink own = sinkFor(t.spec())) {
            try (Connection c = db.shadow(); Statement st = c.createStatement()) {
                st.execute("CREATE UNIQUE INDEX people_email ON people (email)");
            }
            apply(own, t.row(Op.INSERT, "1", "x"));
            // Key 2 is first met before key 1 gives up "x": written per key in that order, the
            // second write of key 2 would take "x" while key 1 still has it.
            apply(own, t.row(Op.INSERT, "2", "q"), t.row(Op.UPDATE, "1", "z"),
                    t.row(Op.UPDATE, "2", "x"));
        }

        assertThat(rows(t.table())).containsExactly("(1,z)", "(2,x)");
    }

    @Test
    void inTheReplicaRoleForeignKeysAndOrdinaryTriggersKeepTheNetEffectButAnAlwaysTriggerSeesSourceOrder() throws Exception {
        KeyText t = KeyText.of("quiet_t", "v");
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            ShadowSchema.ensureTables(c, List.of(t.spec()), false);
            st.execute("CREATE TABLE quiet_log (op text, id int, v text)");
            st.execute("CREATE TABLE quiet_ref (id int PRIMARY KEY REFERENCES quiet_t (id))");
            st.execute("CREATE FUNCTION quiet_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    + " INSERT INTO quiet_log SELECT TG_OP, (CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END).*; RETURN NULL; END $$");
            st.execute("CREATE TRIGGER quiet_seen AFTER INSERT OR UPDATE OR DELETE ON quiet_t FOR EACH ROW EXECUTE FUNCTION quiet_seen()");
        }
        try (ShadowSink own = sinkFor(t.spec(), ReplicaRole.OPTIONS)) {
            apply(own, t.row(Op.INSERT, "1", "a"), t.row(Op.INSERT, "2", "b"));
            apply(own, t.row(Op.UPDATE, "2", "b2"), t.delete("2"), t.row(Op.UPDATE, "1", "a2"));
            assertThat(rows(t.table())).containsExactly("(1,a2)");
            // Neither the trigger nor the foreign key acted, and the update of key 2 was never written:
            // one update (key 1's) reached the table, as the batch's net effect. The server publishes a
            // transaction's counts together, once the backend is idle.
            assertThat(shadowLong("SELECT count(*) FROM quiet_log")).isZero();
            long deleted = -1;
            for (long deadline = System.nanoTime() + 30_000_000_000L; System.nanoTime() < deadline && deleted < 1; ) {
                deleted = shadowLong("SELECT n_tup_del FROM pg_stat_user_tables WHERE relid = 'public.quiet_t'::regclass");
                Thread.onSpinWait();
            }
            assertThat(shadowLong("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'public.quiet_t'::regclass")).isEqualTo(1);
            try (Connection c = db.shadow(); Statement st = c.createStatement()) {
                st.execute("ALTER TABLE quiet_t ENABLE ALWAYS TRIGGER quiet_seen");
            }
        }
        try (ShadowSink own = sinkFor(t.spec(), ReplicaRole.OPTIONS)) {
            apply(own, t.row(Op.INSERT, "2", "c"), t.row(Op.UPDATE, "2", "c2"), t.delete("2"));
        }

        // An ALWAYS trigger fires as on a native subscriber, and sees every change in source order.
        assertThat(shadowLong("SELECT count(*) FROM quiet_log WHERE op = 'UPDATE' AND id = 2 AND v = 'c2'")).isEqualTo(1);
        assertThat(rows(t.table())).containsExactly("(1,a2)");
    }

    /** A table in public of an integer key, "id", and one text column, and its changes. */
    private record KeyText(TableId table, TableSpec spec, List<String> columns) {

        static KeyText of(String name, String column) {
            TableId table = new TableId("public", name);
            return new KeyText(table, new TableSpec(table, List.of(new ColumnSpec("id", "integer", true, "int4", false),
                    new ColumnSpec(column, "text", false, "text", false)), List.of("id")), List.of("id", column));
        }

        ChangeEvent row(Op op, String id, String value) {
            return new ChangeEvent(table, op, null, new RowImage(columns, new String[] {id, value}, null));
        }

        ChangeEvent delete(String id) {
            return new ChangeEvent(table, Op.DELETE, new RowImage(List.of("id"), new String[] {id}, null), null);
        }
    }

    private static ShadowSink sinkFor(TableSpec spec) throws SQLException {
        return sinkFor(spec, null);
    }

    private static ShadowSink sinkFor(TableSpec spec, String options) throws SQLException {
        try (Connection c = db.shadow()) {
            if (ShadowSchema.describe(c, spec.id()).isEmpty()) {
                ShadowSchema.ensureTables(c, List.of(spec), false);
            }
        }
        var server = db.shadowServer();
        return new ShadowSink(new SinkSettings(db.name(), "slot_" + spec.id().name(),
                new ConnectionSettings(server.host(), server.port(), db.name(), server.user(), server.password()).withOptions(options),
                new RetryPolicy(Duration.ofMillis(50), Duration.ofMillis(200), Duration.ofSeconds(2))), Map.of(spec.id(), spec),
                SourceSchema.NONE);
    }

    private static void apply(ShadowSink to, ChangeEvent... events) throws InterruptedException {
        lsn += 100;
        to.apply(new ChangeBatch(List.of(events), new SourcePosition(Phase.STREAMING, new Lsn(lsn), Map.of("lsn", lsn)), 1, false,
                List.of()));
    }

    private static List<String> rows(TableId table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT t::text FROM " + table.quoted() + " t ORDER BY 1")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static long shadowLong(String sql) throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : -1;
        }
    }

    private SourcePosition apply(ChangeEvent... events) throws InterruptedException {
        lsn += 100;
        SourcePosition end = new SourcePosition(Phase.STREAMING, new Lsn(lsn), Map.of("lsn", lsn, "n", "x"));
        sink.apply(new ChangeBatch(List.of(events), end, 1, false, List.of()));
        return end;
    }

    private static ChangeEvent upsert(Op op, String id, String name, String doc, String price) {
        return new ChangeEvent(ITEMS, op, null, new RowImage(COLUMNS, new String[] {id, name, doc, price}, null));
    }

    private static ChangeEvent delete(String id) {
        return new ChangeEvent(ITEMS, Op.DELETE, new RowImage(List.of("id"), new String[] {id}, null), null);
    }

    private static List<String> rows() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT t::text FROM " + ITEMS.quoted() + " t ORDER BY id")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
