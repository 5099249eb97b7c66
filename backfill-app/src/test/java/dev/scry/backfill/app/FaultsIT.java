package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.scry.backfill.testing.PgPair;

/**
 * Fault injection on loopback, each test bounded in time: the process killed at random moments,
 * the shadow stopped for 30 s, the source restarted, the walsender terminated. Writes continue on
 * the source throughout; at the end source and shadow are equal and the journal table (one row
 * per source transaction) shows nothing applied twice. Each test prints what it injected.
 */
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class FaultsIT extends PipelineTest {

    @Parameter
    Pipeline.Reader reader;

    private static final String CHECKPOINT_BATCHES = "SELECT coalesce(max(batches), 0) FROM scry_backfill.checkpoint";

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("faults_it");
        try (Connection c = db.source()) {
            Workload.createSchema(c, 20_000);
        }
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES),
                "batch: {max-rows: 200, max-delay-ms: 20}\nretry: {initial-backoff-ms: 100, max-backoff-ms: 2000, give-up-after-s: 120}\n").streamingWith(reader);
    }

    private boolean slotActive() throws java.sql.SQLException {
        return pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + pipeline.slot() + "'") == 1;
    }

    /** Equal tables, each journal row applied once; prints and returns the rows compared. */
    private long assertEqualAndCounted(String test, int faults) throws Exception {
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        long journal = pipeline.sourceLong("SELECT count(*) FROM journal");
        // Journal rows are never updated or deleted: copied by the (last) snapshot or inserted once by the stream.
        assertThat(pipeline.shadowLong("SELECT snapshot_rows + inserts FROM scry_backfill.table_progress WHERE table_name = 'journal'"))
                .as("journal rows copied or inserted, against rows on the source").isEqualTo(journal);
        long rows = 0;
        for (String t : Workload.TABLES) {
            rows += pipeline.sourceLong("SELECT count(*) FROM " + t);
        }
        System.out.printf("[faults] %s: %d faults injected, %d rows compared, %d source transactions%n", test, faults, rows, journal);
        return rows;
    }

    @Test
    @Timeout(300)
    void twentyKillsAtRandomMomentsAcrossSnapshotAndStreaming() throws Exception {
        // Throttled so that the first kills land inside the snapshot's copy.
        pipeline.writeConfig(List.of(Workload.TABLES), "batch: {max-rows: 200, max-delay-ms: 20}\nrate-limit: {rows-per-second: 20000}\n");
        Random random = new Random(7);
        Path log = dir.resolve("runs.log");
        int kills = 0;
        int duringSnapshot = 0;
        try (Workload writes = new Workload(db, false, 11).start()) {
            Process snapshot = pipeline.spawn(log, "snapshot");
            Pipeline.await("the snapshot has begun", Duration.ofSeconds(60), Pipeline.sql(() -> "snapshot".equals(pipeline.phase())));
            Thread.sleep(200 + random.nextInt(400));
            Pipeline.kill9(snapshot);
            kills++;
            duringSnapshot += "snapshot".equals(pipeline.phase()) ? 1 : 0;
            // Fewer for the second reader: the kills that matter (inside the copy, while streaming) land either way.
            int total = reader == Pipeline.Reader.DEBEZIUM ? 8 : 20;
            while (kills < total) {
                if (kills == 6) {
                    // Enough kills inside the copy: unthrottled, the next snapshot completes and streaming begins.
                    pipeline.writeConfig(List.of(Workload.TABLES), "batch: {max-rows: 200, max-delay-ms: 20}\n");
                }
                Process resume = pipeline.spawn(log, "resume");
                if (kills >= 6) {
                    Pipeline.await("run " + (kills + 1) + " streams", Duration.ofSeconds(90),
                            Pipeline.sql(() -> "streaming".equals(pipeline.phase()) && slotActive()));
                }
                // A random moment: between 0.1 and 1.5 s later, wherever the run is by then.
                Thread.sleep(100 + random.nextInt(1400));
                boolean inSnapshot = "snapshot".equals(pipeline.phase());
                Pipeline.kill9(resume);
                kills++;
                duringSnapshot += inSnapshot ? 1 : 0;
            }
            Pipeline.await("the writer has committed 300 transactions", Duration.ofSeconds(60), () -> writes.transactions() >= 300);
        }
        pipeline.writeConfig(List.of(Workload.TABLES), "batch: {max-rows: 200, max-delay-ms: 20}\n");
        Pipeline.Outcome last = pipeline.run("resume", "--exit-when-caught-up");

        assertThat(last.exitCode()).as(last.err() + Files.readString(log)).isZero();
        assertThat(duringSnapshot).as("kills that landed during the snapshot").isPositive();
        assertThat(kills - duringSnapshot).as("kills that landed while streaming").isPositive();
        assertEqualAndCounted(kills + " SIGKILLs (" + duringSnapshot + " during the snapshot)", kills);
        pipeline.assertVerifyEqual();
    }

    @Test
    @Timeout(300)
    void shadowStoppedForThirtySecondsWhileStreaming() throws Exception {
        assumeTrue(PgPair.get().controllable(), "needs local clusters the test can stop");
        // The shadow's outage is met by the sink's retries, behind either reader alike; once is enough for the suite's time.
        assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the sink's retries do not depend on the reader");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        Path log = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(log, "cdc");
        try (Workload writes = new Workload(db, false, 5).start()) {
            Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(this::slotActive));
            Pipeline.await("some batches are applied", Duration.ofSeconds(60), Pipeline.sql(() -> pipeline.shadowLong(CHECKPOINT_BATCHES) > 3));
            PgPair.get().stop("shadow");
            long stoppedAt = System.nanoTime();
            try {
                long before = writes.transactions();
                while (System.nanoTime() - stoppedAt < Duration.ofSeconds(30).toNanos()) {
                    assertThat(cdc.isAlive()).as("the daemon stays up while the shadow is down").isTrue();
                    Thread.sleep(500);
                }
                assertThat(writes.transactions()).as("the source kept being written").isGreaterThan(before);
            }
            finally {
                PgPair.get().start("shadow");
            }
        }
        assertThat(Files.readString(log)).contains("shadow write failed").contains("retrying in");
        // After 30 s away the shadow's next retry can be up to retry.max-backoff-ms (30 s) off, and the
        // catch-up comes on top: verify only waits 30 s for the daemon, so wait here until it caught up.
        String end = pipeline.sourceText("SELECT pg_current_wal_lsn()::text");
        Pipeline.await("the daemon applied everything written while the shadow was down", Duration.ofSeconds(180),
                Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM scry_backfill.checkpoint WHERE lsn >= '" + end + "'") > 0));
        pipeline.assertVerifyEqual();
        assertThat(cdc.isAlive()).isTrue();
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).isZero();
        assertEqualAndCounted("shadow stopped for 30 s", 1);
    }

    @Test
    @Timeout(300)
    void sourceRestartAndTerminatedWalsenderAreRetried() throws Exception {
        assumeTrue(PgPair.get().controllable(), "needs local clusters the test can restart");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        Path log = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(log, "cdc");
        try (Workload writes = new Workload(db, false, 9).surviveRestarts().start()) {
            Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(this::slotActive));
            long batches = pipeline.shadowLong(CHECKPOINT_BATCHES);
            pipeline.source("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'");
            try {
                Pipeline.await("streaming resumed after the walsender was terminated", Duration.ofSeconds(60),
                        Pipeline.sql(() -> slotActive() && pipeline.shadowLong(CHECKPOINT_BATCHES) > batches + 3));
            }
            catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + Files.readString(log), e);
            }

            PgPair.get().stop("source");
            try {
                Thread.sleep(3000);
                assertThat(cdc.isAlive()).as("the daemon stays up while the source is down\n" + Files.readString(log)).isTrue();
            }
            finally {
                PgPair.get().start("source");
            }
            long after = pipeline.shadowLong(CHECKPOINT_BATCHES);
            Pipeline.await("streaming resumed after the source restarted", Duration.ofSeconds(90),
                    Pipeline.sql(() -> slotActive() && pipeline.shadowLong(CHECKPOINT_BATCHES) > after + 3));
            Pipeline.await("the writer wrote after the restart", Duration.ofSeconds(30), () -> writes.transactions() > 100);
        }
        assertThat(Files.readString(log)).contains("not ready: the source connection failed");
        System.out.println("[faults] daemon log:\n" + Files.readString(log).lines().filter(l -> l.contains("WARN") || l.contains("ERROR"))
                .limit(40).collect(java.util.stream.Collectors.joining("\n")));
        pipeline.assertVerifyEqual();
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).isZero();
        assertEqualAndCounted("walsender terminated, source restarted", 2);
    }
}
