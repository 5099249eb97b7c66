package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import dev.scry.backfill.testing.PgPair;

/** Snapshot, then streaming of every kind of change, through the CLI against a real source and shadow; once per reader. */
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class StreamingIT extends PipelineTest {

    @Parameter
    Pipeline.Reader reader;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("stream_it");
        try (Connection c = db.source()) {
            Workload.createSchema(c, 2_000);
        }
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES), "batch: {max-rows: 100, max-delay-ms: 50}\n").streamingWith(reader);
    }

    @Test
    void streamsInsertsUpdatesDeletesAndTruncatesInMultiRowTransactions() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        pipeline.source(
                "BEGIN; INSERT INTO events (account_id, kind) SELECT g, 'burst' FROM generate_series(1, 250) g;"
                        + " UPDATE accounts SET balance = balance + 1, tags = '{}' WHERE id <= 150; DELETE FROM events WHERE id % 3 = 0; COMMIT",
                "UPDATE \"Pairs\" SET b = -b WHERE b % 2 = 0",
                "DELETE FROM accounts WHERE id > 190",
                "BEGIN; TRUNCATE \"Pairs\"; INSERT INTO \"Pairs\" VALUES ('after truncate', 1, 'NaN', '\\x00ff00'); COMMIT");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertThat(cdc.out()).contains("caught up");
        // The source keeps no WAL the shadow has: the slot confirmed the checkpoint before the command exited.
        assertThat(pipeline.slotConfirmedCheckpoint()).as("the slot confirmed the checkpoint at exit").isTrue();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM \"Pairs\"")).isEqualTo(1);
    }

    @Test
    void truncateOfTablesLinkedByAForeignKeyIsAppliedAsOneStatement() throws Exception {
        pipeline.source("CREATE TABLE parent (id int PRIMARY KEY)", "CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)",
                "INSERT INTO parent SELECT generate_series(1, 20)", "INSERT INTO child SELECT g, g FROM generate_series(1, 20) g");
        pipeline.writeConfig(List.of("public.parent", "public.child"), "batch: {max-rows: 100, max-delay-ms: 50}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        // One TRUNCATE on the source covering both: the shadow cannot truncate the referenced table alone.
        pipeline.source("TRUNCATE parent, child", "INSERT INTO parent VALUES (7)", "INSERT INTO child VALUES (1, 7)");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource("public.parent", "public.child");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM child")).isEqualTo(1);
    }

    @Test
    void transactionLargerThanABatchArrivesWhole() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        // 1,000 changes in one transaction with batch.max-rows = 100: split on the way, equal at the end.
        pipeline.source("BEGIN; UPDATE events SET kind = 'big' WHERE id <= 1000; COMMIT");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
    }

    @Test
    void shadowNeverShowsPartOfASourceTransaction() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        long total = pipeline.sourceLong(Workload.TOTAL);
        Set observed = new Set();
        AtomicBoolean reading = new AtomicBoolean(true);
        AtomicLong reads = new AtomicLong();
        Thread reader = new Thread(() -> {
            try (Connection shadow = db.shadow(); var st = shadow.createStatement()) {
                while (reading.get()) {
                    try (var rs = st.executeQuery(Workload.TOTAL)) {
                        rs.next();
                        observed.add(rs.getLong(1));
                        reads.incrementAndGet();
                    }
                }
            }
            catch (SQLException e) {
                observed.add(Long.MIN_VALUE);
            }
        });
        try (Workload transfers = new Workload(db, true, 7).start()) {
            reader.start();
            Pipeline.await("the workload has committed 300 transfers", Duration.ofSeconds(60), () -> transfers.transactions() >= 300);
            transfers.stop();
            Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
            assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        }
        finally {
            reading.set(false);
            reader.join();
        }
        // Each transfer moves money between two rows in one transaction: half of one would change the sum.
        assertThat(reads.get()).isPositive();
        assertThat(observed.values()).containsExactly(total);
        pipeline.assertShadowEqualsSource(Workload.TABLES);
    }

    @Test
    void exitWhenCaughtUpReturnsOnAnIdleSourceAfterARestart() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("UPDATE accounts SET owner = owner || '!' WHERE id < 10");
        Path daemonLog = dir.resolve("daemon.log");
        Process daemon = pipeline.spawn(daemonLog, "cdc");
        Pipeline.await("the update is on the shadow", Duration.ofSeconds(60),
                Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM accounts WHERE owner LIKE '%!'") == 9));
        daemon.destroy();
        assertThat(Pipeline.waitFor(daemon, Duration.ofSeconds(60))).as(Files.readString(daemonLog)).isZero();

        // The checkpoint now ends at an ordinary transaction, and nothing happens on the source. After a restart Debezium looks for the next COMMIT past
        // its stored position before it delivers anything: the marker must provide one.
        Path log = dir.resolve("idle.log");
        Process idle = pipeline.spawn(log, "cdc", "--exit-when-caught-up");

        assertThat(Pipeline.waitFor(idle, Duration.ofSeconds(90))).as(Files.readString(log)).isZero();
        assertThat(Files.readString(log)).contains("caught up");
        pipeline.assertShadowEqualsSource(Workload.TABLES);
    }

    @Test
    void cdcWithoutCheckpointStreamsFromTheSlotsCreation() throws Exception {
        Path log = dir.resolve("cdc.log");
        Process daemon = pipeline.spawn(log, "cdc");
        Pipeline.await("the slot exists", Duration.ofSeconds(60), Pipeline.sql(pipeline::slotExists));
        pipeline.source("INSERT INTO events (account_id, kind) VALUES (1, 'after the slot')");
        Pipeline.await("the new row is on the shadow", Duration.ofSeconds(60),
                Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM events WHERE kind = 'after the slot'") == 1));
        // The slot confirms what the shadow committed while the daemon runs, not only when it stops.
        Pipeline.await("the slot has confirmed the checkpoint", Duration.ofSeconds(30), Pipeline.sql(pipeline::slotConfirmedCheckpoint));
        Pipeline.Outcome second = pipeline.run("resume");
        assertThat(second.exitCode()).as("a second run while the daemon streams").isEqualTo(2);
        assertThat(second.err()).contains("is already running");

        daemon.destroy(); // SIGTERM: finish the batch in flight, commit, exit 0
        assertThat(Pipeline.waitFor(daemon, Duration.ofSeconds(60))).as(Files.readString(log)).isZero();
        assertThat(Files.readString(log)).contains("no checkpoint").contains("existing rows are not copied");
        // Rows committed before the slot existed were not copied.
        assertThat(pipeline.shadowLong("SELECT count(*) FROM events")).isEqualTo(1);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM accounts")).isZero();
        assertThat(pipeline.phase()).isEqualTo("streaming");
    }

    @Test
    void resumeWithoutCheckpointExitsTwoAndWritesNothing() throws Exception {
        Pipeline.Outcome resume = pipeline.run("resume");

        assertThat(resume.exitCode()).isEqualTo(2);
        assertThat(resume.err().strip()).startsWith("error: pipeline " + db.name() + " has no checkpoint").doesNotContain("\n");
        assertThat(pipeline.slotExists()).isFalse();
        assertThat(pipeline.phase()).isNull();
    }

    @Test
    void resumeWithSnapshotIfNewCopiesANewPipelineThenStreamsAndLaterOnlyResumes() throws Exception {
        Path log = dir.resolve("resume.log");
        Process daemon = pipeline.spawn(log, "resume", "--snapshot-if-new");
        Pipeline.await("the snapshot is done and the daemon streams", Duration.ofSeconds(120), Pipeline.sql(() -> "streaming".equals(pipeline.phase())));
        pipeline.source("INSERT INTO events (account_id, kind) VALUES (1, 'after the snapshot')");
        Pipeline.await("the streamed row is on the shadow", Duration.ofSeconds(60),
                Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM events WHERE kind = 'after the snapshot'") == 1));
        daemon.destroy();
        assertThat(Pipeline.waitFor(daemon, Duration.ofSeconds(60))).as(Files.readString(log)).isZero();
        assertThat(Files.readString(log)).contains("no checkpoint: taking its snapshot").contains("streaming from the end of its snapshot");
        pipeline.assertShadowEqualsSource(Workload.TABLES);

        long copied = pipeline.shadowLong("SELECT sum(snapshot_rows) FROM scry_backfill.table_progress");
        pipeline.source("DELETE FROM accounts WHERE id > 190");
        Pipeline.Outcome again = pipeline.run("resume", "--snapshot-if-new", "--exit-when-caught-up");

        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT sum(snapshot_rows) FROM scry_backfill.table_progress")).as("nothing copied again").isEqualTo(copied);
        pipeline.assertShadowEqualsSource(Workload.TABLES);
    }

    @Test
    void tableAddedToTablesAfterTheSnapshotIsCopiedThenStreamed() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("CREATE TABLE late (id int PRIMARY KEY, v text)", "INSERT INTO late SELECT g, 'before' FROM generate_series(1, 300) g");
        List<String> more = new java.util.ArrayList<>(List.of(Workload.TABLES));
        more.add("public.late");
        pipeline.writeConfig(more, "");
        pipeline.source("UPDATE accounts SET balance = balance + 1 WHERE id < 5");

        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT snapshot_rows FROM scry_backfill.table_progress WHERE table_name = 'late'")).isEqualTo(300);
        pipeline.source("UPDATE late SET v = 'after' WHERE id % 2 = 0", "DELETE FROM late WHERE id > 250");
        assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();
        pipeline.assertShadowEqualsSource("public.late", "public.accounts");
    }

    @Test
    void statusReportsPhaseCheckpointRowsAndSlotLag() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("INSERT INTO events (account_id, kind) VALUES (1, 'unapplied')");

        Pipeline.Outcome status = pipeline.run("status", "--json");

        assertThat(status.exitCode()).isZero();
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(status.out());
        assertThat(json.get("phase").asText()).isEqualTo("streaming");
        assertThat(json.get("checkpoint_lsn").asText()).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(json.get("tables").get("public.events").get("snapshot_rows").asLong()).isEqualTo(2_000);
        assertThat(json.get("slot").get("lag_bytes").asLong()).isPositive();
        assertThat(status.out()).doesNotContain("password");
    }

    /** A thread-safe set of observed values. */
    private static final class Set {
        private final java.util.Set<Long> values = ConcurrentHashMap.newKeySet();

        void add(long v) {
            values.add(v);
        }

        java.util.Set<Long> values() {
            return values;
        }
    }

    static String read(Path p) throws IOException {
        return Files.readString(p);
    }
}
