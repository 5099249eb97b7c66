package dev.scry.backfill.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/**
 * The checkpoint, its counters and the metadata schema on a real PostgreSQL (the pair's shadow):
 * what a crash between the rows and their position would break, and what teardown leaves.
 * Each test uses pipelines of its own, so the tests share one database.
 */
class CheckpointStoreIT {

    private static final TableId ITEMS = new TableId("inv", "Items \"x\"");
    private static final TableId ORDERS = new TableId("inv", "orders");

    private static Databases db;

    @BeforeAll
    static void start() throws SQLException {
        db = PgPair.get().newDatabases("checkpoint_it");
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA inv");
            st.execute("CREATE TABLE " + ITEMS.quoted() + " (id int PRIMARY KEY)");
        }
    }

    @AfterAll
    static void stop() {
        db.close();
    }

    @Test
    void theCheckpointCommitsAndRollsBackWithTheRowsOfItsTransaction() throws SQLException {
        CheckpointStore store = new CheckpointStore("same_tx");
        try (Connection c = db.shadow()) {
            MetadataSchema.ensure(c);
            c.setAutoCommit(false);
            insert(c, 1);
            store.write(c, "slot_a", streaming("0/16B3748", 7), Map.of(ITEMS, new TableCounts(0, 1, 0, 0, 0)));
            c.rollback();
            assertThat(store.read(c)).as("a rolled-back batch leaves no checkpoint").isEmpty();
            assertThat(store.progress(c)).as("nor counts").isEmpty();
            assertThat(rows(c)).as("nor rows").isZero();

            insert(c, 2);
            store.write(c, "slot_a", streaming("0/16B3748", 8), Map.of(ITEMS, new TableCounts(0, 1, 0, 0, 0)));
            c.commit();
            Checkpoint cp = store.read(c).orElseThrow();
            assertThat(cp.slot()).isEqualTo("slot_a");
            assertThat(cp.phase()).isEqualTo(Phase.STREAMING);
            assertThat(cp.lsn()).isEqualTo(Lsn.parse("0/16B3748"));
            assertThat(cp.offset()).as("the offset survives jsonb").contains(Map.of("lsn", 8));
            assertThat(cp.batches()).isEqualTo(1);
            assertThat(store.progress(c)).containsEntry(ITEMS, new TableCounts(0, 1, 0, 0, 0));
            assertThat(rows(c)).isEqualTo(1);
            c.rollback();
        }
    }

    @Test
    void countersAddUpAcrossBatchesAndAFreshSnapshotStartsThemAtZero() throws SQLException {
        CheckpointStore store = new CheckpointStore("counters");
        try (Connection c = db.shadow()) {
            MetadataSchema.ensure(c);
            c.setAutoCommit(false);
            store.write(c, "slot_b", new SourcePosition(Phase.SNAPSHOT, Lsn.parse("0/100"), Map.of()),
                    Map.of(ITEMS, new TableCounts(10, 0, 0, 0, 0)));
            store.addCounts(c, Map.of(ITEMS, new TableCounts(5, 0, 0, 0, 0), ORDERS, new TableCounts(3, 0, 0, 0, 0)));
            c.commit();
            Checkpoint during = store.read(c).orElseThrow();
            assertThat(during.snapshotStartedAt()).as("a snapshot's first checkpoint stamps its start").isNotNull();
            assertThat(during.snapshotCompleted()).isFalse();
            assertThat(during.batches()).as("counts alone do not move the checkpoint").isEqualTo(1);

            store.write(c, "slot_b", streaming("0/200", 1), Map.of(ITEMS, new TableCounts(0, 4, 3, 2, 1)));
            c.commit();
            Checkpoint after = store.read(c).orElseThrow();
            assertThat(after.snapshotCompleted()).as("snapshot to streaming stamps the completion").isTrue();
            assertThat(after.snapshotStartedAt()).isEqualTo(during.snapshotStartedAt());
            assertThat(after.batches()).isEqualTo(2);
            assertThat(store.progress(c)).containsExactly(
                    Map.entry(ITEMS, new TableCounts(15, 4, 3, 2, 1)),
                    Map.entry(ORDERS, new TableCounts(3, 0, 0, 0, 0)));

            store.resetForNewSnapshot(c, "slot_b", List.of(ITEMS, ORDERS));
            c.commit();
            Checkpoint reset = store.read(c).orElseThrow();
            assertThat(reset.phase()).isEqualTo(Phase.SNAPSHOT);
            assertThat(reset.lsn()).isEqualTo(Lsn.ZERO);
            assertThat(reset.offset()).isEmpty();
            assertThat(reset.snapshotCompleted()).isFalse();
            assertThat(store.progress(c)).as("a row per table, even before its first rows")
                    .containsExactly(Map.entry(ITEMS, TableCounts.ZERO), Map.entry(ORDERS, TableCounts.ZERO));
            c.rollback();
        }
    }

    @Test
    void ratesKeepOneRowPerPipeline() throws SQLException {
        RateRecords rates = new RateRecords("rates");
        try (Connection c = db.shadow()) {
            MetadataSchema.ensure(c);
            assertThat(rates.read(c)).isEmpty();
            rates.write(c, 100, 0, 12.5, 2048, 0.25);
            rates.write(c, 200, 1000, 99.0, 4096, 1.5);
            RateRecords.Rate r = rates.read(c).orElseThrow();
            assertThat(List.of(r.rowsLimit(), r.bytesLimit())).containsExactly(200L, 1000L);
            assertThat(List.of(r.rowsPerSecond(), r.bytesPerSecond(), r.throttledSeconds())).containsExactly(99.0, 4096.0, 1.5);
            assertThat(r.ageSeconds()).isBetween(0.0, 60.0);
        }
    }

    /** Tears down the other tests' pipelines too, so that it meets the last pipeline whichever order the tests run in. */
    @Test
    void theMetadataSchemaIsCreatedIdempotentlyAndGoesWithTheLastPipeline() throws SQLException {
        try (Connection c = db.shadow()) {
            MetadataSchema.ensure(c);
            MetadataSchema.ensure(c);
            assertThat(MetadataSchema.exists(c)).isTrue();
            for (String table : List.of("checkpoint", "table_progress", "rates", "dead_letters", "held_changes", "snapshot_parts",
                    "table_states", "table_requests")) {
                assertThat(MetadataSchema.tableExists(c, table)).as(table).isTrue();
            }
            c.setAutoCommit(false);
            CheckpointStore one = new CheckpointStore("teardown_one");
            CheckpointStore two = new CheckpointStore("teardown_two");
            one.write(c, "slot_1", streaming("0/10", 1), Map.of(ITEMS, new TableCounts(1, 0, 0, 0, 0)));
            two.write(c, "slot_2", streaming("0/20", 2), Map.of(ITEMS, new TableCounts(2, 0, 0, 0, 0)));
            c.commit();
            new RateRecords("teardown_one").write(c, 1, 1, 1, 1, 1);
            DeadLetters letters = new DeadLetters("teardown_one");
            letters.add(c, ITEMS, "INSERT", Lsn.parse("0/10"), new byte[] {1, 2, 3}, "rejected");
            c.commit();
            assertThat(letters.list(c)).singleElement().satisfies(l -> {
                assertThat(l.table()).isEqualTo(ITEMS.toString());
                assertThat(l.change()).containsExactly(1, 2, 3);
            });
            c.commit();
            c.setAutoCommit(true);

            MetadataSchema.drop(c, "teardown_one");
            assertThat(one.read(c)).as("the pipeline's checkpoint goes").isEmpty();
            assertThat(one.progress(c)).as("and its counts").isEmpty();
            assertThat(new RateRecords("teardown_one").read(c)).as("and its rates").isEmpty();
            assertThat(letters.list(c)).as("and its dead letters").isEmpty();
            assertThat(two.read(c)).as("another pipeline's checkpoint stays").isPresent();

            // Whatever the other tests of this class left goes too, so that teardown_two is the last pipeline.
            for (String other : List.of("same_tx", "counters", "rates")) {
                MetadataSchema.drop(c, other);
            }
            assertThat(MetadataSchema.exists(c)).isTrue();
            MetadataSchema.drop(c, "teardown_two");
            assertThat(MetadataSchema.exists(c)).as("the last pipeline's teardown drops the schema").isFalse();
            assertThat(schemaPresent(c)).isFalse();
            MetadataSchema.drop(c, "teardown_two");
            assertThat(two.read(c)).as("reads never create the schema").isEmpty();
            assertThat(schemaPresent(c)).isFalse();
        }
    }

    private static SourcePosition streaming(String lsn, int offset) {
        return new SourcePosition(Phase.STREAMING, Lsn.parse(lsn), Map.of("lsn", offset));
    }

    private static void insert(Connection c, int id) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("INSERT INTO " + ITEMS.quoted() + " VALUES (" + id + ")");
        }
    }

    private static long rows(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + ITEMS.quoted())) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static boolean schemaPresent(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '" + MetadataSchema.SCHEMA + "')")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
