package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/**
 * The process is killed with SIGKILL (no handler runs, the batch in flight is lost) while the
 * source keeps writing; `resume` must bring the shadow back to exactly the source.
 */
class CrashResumeIT {

    private static final String CHECKPOINT_BATCHES = "SELECT coalesce(max(batches), 0) FROM scry_backfill.checkpoint";

    @TempDir
    Path dir;

    private Databases db;
    private Pipeline pipeline;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("crash_it");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void resumesAfterThreeKillsWithoutLossOrDuplicates() throws Exception {
        try (Connection c = db.source()) {
            Workload.createSchema(c, 5_000);
        }
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES), "batch: {max-rows: 200, max-delay-ms: 20}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        Path log = dir.resolve("resume.log");

        try (Workload writes = new Workload(db, false, 42).start()) {
            for (int cycle = 1; cycle <= 3; cycle++) {
                long before = pipeline.shadowLong(CHECKPOINT_BATCHES);
                Process resume = pipeline.spawn(log, "resume");
                Pipeline.await("cycle " + cycle + " has committed 5 batches", Duration.ofSeconds(90),
                        Pipeline.sql(() -> pipeline.shadowLong(CHECKPOINT_BATCHES) >= before + 5));
                Pipeline.kill9(resume);
            }
            Pipeline.await("the writer has committed 200 transactions", Duration.ofSeconds(60), () -> writes.transactions() >= 200);
        }

        Pipeline.Outcome last = pipeline.run("resume", "--exit-when-caught-up");

        assertThat(last.exitCode()).as(last.err() + Files.readString(log)).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        // Each journal row was inserted once on the source; counted once on the shadow across four runs.
        long journal = pipeline.sourceLong("SELECT count(*) FROM journal");
        assertThat(journal).isGreaterThanOrEqualTo(200);
        assertThat(pipeline.shadowLong("SELECT inserts FROM scry_backfill.table_progress WHERE table_name = 'journal'")).isEqualTo(journal);
        assertThat(pipeline.slotLagBytes()).isLessThan(1024 * 1024);
        assertThat(pipeline.run("teardown").exitCode()).isZero();
        assertThat(pipeline.slotExists()).isFalse();
    }

    @Test
    void killInsideATransactionSplitAcrossBatchesResumesRightAfterTheLastAppliedPart() throws Exception {
        try (Connection c = db.source()) {
            Workload.createSchema(c, 3_000);
        }
        // Throttled so that the kill lands while the big transaction is half applied.
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES),
                "batch: {max-rows: 100, max-delay-ms: 20}\nrate-limit: {rows-per-second: 1000}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        Path log = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(log, "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(pipeline::slotExists));

        pipeline.source("BEGIN; UPDATE events SET kind = 'big-' || id WHERE id <= 2000;"
                + " INSERT INTO events (account_id, kind) SELECT g, 'big-new' FROM generate_series(1, 500) g; COMMIT");
        Pipeline.await("part of the big transaction is on the shadow", Duration.ofSeconds(90), Pipeline.sql(() -> {
            long applied = pipeline.shadowLong("SELECT count(*) FROM events WHERE kind LIKE 'big-%'");
            return applied >= 300 && applied < 2_000;
        }));
        Pipeline.kill9(cdc);
        long partial = pipeline.shadowLong("SELECT count(*) FROM events WHERE kind LIKE 'big-%'");
        assertThat(partial).as("killed inside the transaction").isBetween(300L, 1_999L);
        pipeline.source("UPDATE accounts SET balance = balance + 1 WHERE id = 1");

        pipeline.writeConfig(List.of(Workload.TABLES), "batch: {max-rows: 100, max-delay-ms: 20}\n");
        Pipeline.Outcome resume = pipeline.run("resume", "--exit-when-caught-up");

        assertThat(resume.exitCode()).as(resume.err() + Files.readString(log)).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM events WHERE kind LIKE 'big-%'")).isEqualTo(2_500);
        // Every change counted once across the killed run and the resume: none was applied twice.
        assertThat(pipeline.shadowLong("SELECT updates FROM scry_backfill.table_progress WHERE table_name = 'events'")).isEqualTo(2_000);
        assertThat(pipeline.shadowLong("SELECT inserts FROM scry_backfill.table_progress WHERE table_name = 'events'")).isEqualTo(500);
    }

    @Test
    void snapshotKilledHalfWayIsCompletedByResume() throws Exception {
        try (Connection c = db.source()) {
            Workload.createSchema(c, 20_000);
        }
        // Throttled so that the snapshot is still running when it is killed.
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES),
                "batch: {max-rows: 500, max-delay-ms: 20}\nrate-limit: {rows-per-second: 4000}\n");
        Path log = dir.resolve("snapshot.log");
        Process snapshot = pipeline.spawn(log, "snapshot");
        // The COPY snapshot commits table by table, largest first, so the small tables are on the
        // shadow while the large one is still being copied.
        Pipeline.await("the snapshot has committed some tables", Duration.ofSeconds(90), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM scry_backfill.table_progress WHERE snapshot_rows > 0") >= 1));
        Pipeline.kill9(snapshot);
        assertThat(pipeline.phase()).isEqualTo("snapshot");
        // Changes while nothing runs: some to rows already copied, some to rows not yet copied.
        pipeline.source("DELETE FROM events WHERE id % 10 = 0", "UPDATE accounts SET balance = 0 WHERE id < 50",
                "INSERT INTO events (account_id, kind) VALUES (1, 'while down')");

        pipeline.writeConfig(List.of(Workload.TABLES), "batch: {max-rows: 500, max-delay-ms: 20}\n");
        Pipeline.Outcome resume = pipeline.run("resume", "--exit-when-caught-up");

        assertThat(resume.exitCode()).as(resume.err() + Files.readString(log)).isZero();
        assertThat(pipeline.phase()).isEqualTo("streaming");
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.run("teardown", "--drop-metadata").exitCode()).isZero();
    }
}
