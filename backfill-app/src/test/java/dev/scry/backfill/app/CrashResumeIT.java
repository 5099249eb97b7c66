package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Assumptions;
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
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class CrashResumeIT {

    @Parameter
    Pipeline.Reader reader;

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
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES), "batch: {max-rows: 200, max-delay-ms: 20}\n").streamingWith(reader);
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
                "batch: {max-rows: 100, max-delay-ms: 20}\nrate-limit: {rows-per-second: 1000}\n").streamingWith(reader);
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
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        try (Connection c = db.source()) {
            Workload.createSchema(c, 20_000);
        }
        // Throttled so that the snapshot is still running when it is killed.
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES),
                "batch: {max-rows: 500, max-delay-ms: 20}\nrate-limit: {rows-per-second: 4000}\n").streamingWith(reader);
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

    @Test
    void snapshotKilledBetweenPartsContinuesWithThePartsAlreadyCopied() throws Exception {
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        List<String> tables = List.of("public.big", "public.paged", "public.logbook");
        pipeline = new Pipeline(db, dir, tables, "").streamingWith(reader);
        pipeline.source("CREATE TABLE big (id bigint PRIMARY KEY, body text, n int, doc text)",
                "INSERT INTO big SELECT g, repeat(md5(g::text), 3), 0 FROM generate_series(1, 60000) g",
                // A few rows in a part not copied before the kill hold values large enough to stay in TOAST.
                "UPDATE big SET doc = (SELECT string_agg(md5(id::text || i::text), '') FROM generate_series(1, 200) i)"
                        + " WHERE id BETWEEN 40000 AND 40010",
                "CREATE TABLE paged (code text PRIMARY KEY, n int)",
                "INSERT INTO paged SELECT md5(g::text), 0 FROM generate_series(1, 30000) g",
                "CREATE TABLE logbook (at int, note text)", "ALTER TABLE logbook REPLICA IDENTITY FULL",
                "INSERT INTO logbook SELECT g, 'before' FROM generate_series(1, 100) g", "ANALYZE big");
        // About 8 MB in 1 MB key ranges, one worker, throttled so that the kill lands between parts.
        pipeline.writeConfig(tables, "snapshot: {chunk-mb: 1, parallelism: 1}\nrate-limit: {rows-per-second: 15000}\n");
        Path log = dir.resolve("snapshot.log");
        Process snapshot = pipeline.spawn(log, "snapshot");
        String copiedParts = "SELECT count(*) FROM scry_backfill.snapshot_parts WHERE copied_at IS NOT NULL AND table_name = 'big'";
        Pipeline.await("two parts of the big table are committed", Duration.ofSeconds(90),
                Pipeline.sql(() -> pipeline.shadowLong(copiedParts) >= 2));
        Pipeline.kill9(snapshot);
        long before = pipeline.shadowLong(copiedParts);
        long planned = pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE table_name = 'big'");
        long plannedAll = pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts");
        assertThat(before).as("killed between parts").isLessThan(planned);
        assertThat(pipeline.phase()).isEqualTo("snapshot");
        // While nothing runs: changes to rows in copied parts and in parts not copied yet, a key
        // moved from one range to another, rows added beyond both ends, and the page-cut table.
        pipeline.source("UPDATE big SET n = n + 1 WHERE id % 7 = 0", "DELETE FROM big WHERE id % 11 = 0",
                "UPDATE big SET id = 59999 + 100000 WHERE id = 3", "UPDATE big SET id = 4 - 100000 WHERE id = 59998",
                "INSERT INTO big VALUES (0, 'zero', 0), (70000, 'beyond', 0)", "UPDATE paged SET n = 1 WHERE code < '3'",
                // Applied again on top of the rows copied after it, this update would find rows the
                // next statement deleted, with their TOASTed values unsent; the stream must skip both.
                "UPDATE big SET n = 5 WHERE id BETWEEN 40000 AND 40010", "DELETE FROM big WHERE id BETWEEN 40000 AND 40005",
                // A table without a key is copied again whole: its inserts applied again would double.
                "INSERT INTO logbook SELECT g, 'while down' FROM generate_series(1, 50) g", "DELETE FROM logbook WHERE at <= 10");

        pipeline.writeConfig(tables, "snapshot: {chunk-mb: 1, parallelism: 1}\n");
        Path resumeLog = dir.resolve("resume.log");
        int resumed = Pipeline.waitFor(pipeline.spawn(resumeLog, "resume", "--exit-when-caught-up"), Duration.ofSeconds(120));

        assertThat(resumed).as(Files.readString(resumeLog)).isZero();
        assertThat(Files.readString(resumeLog))
                .contains("continuing the interrupted snapshot: " + before + " of " + plannedAll + " part(s) were copied");
        pipeline.assertShadowEqualsSource(tables.toArray(String[]::new));
        // The parts committed before the kill were not copied again: they are still at the first position.
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE table_name = 'big' AND copied_at ="
                + " (SELECT min(copied_at) FROM scry_backfill.snapshot_parts)")).isEqualTo(before);
        assertThat(pipeline.shadowLong("SELECT snapshot_rows FROM scry_backfill.table_progress WHERE table_name = 'big'"))
                .isEqualTo(pipeline.shadowLong("SELECT sum(rows) FROM scry_backfill.snapshot_parts WHERE table_name = 'big'"));
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid IN ('big'::regclass, 'paged'::regclass)"))
                .isEqualTo(2);
        // Streaming goes on normally after the overlap.
        pipeline.source("UPDATE big SET n = -1 WHERE id % 5 = 0", "DELETE FROM paged WHERE code < '1'",
                "INSERT INTO logbook VALUES (0, 'after')");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(tables.toArray(String[]::new));
        assertThat(pipeline.run("teardown", "--drop-metadata").exitCode()).isZero();
    }

    @Test
    void snapshotKilledBeforeItsFirstPartCommittedIsContinuedWithoutCountingAnyChangeTwice() throws Exception {
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        try (Connection c = db.source()) {
            Workload.createSchema(c, 20_000);
        }
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES), "rate-limit: {rows-per-second: 2000}\n").streamingWith(reader);
        Path log = dir.resolve("snapshot.log");
        Process snapshot = pipeline.spawn(log, "snapshot");
        Pipeline.await("the snapshot has planned its parts", Duration.ofSeconds(90), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM pg_tables WHERE schemaname = 'scry_backfill' AND tablename = 'snapshot_parts'") == 1
                        && pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts") > 0));
        Pipeline.kill9(snapshot);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE copied_at IS NOT NULL")).isZero();
        // Every part is copied at a later position than the one streaming starts from: these
        // inserts are in the copy and must not be applied (and counted) again.
        pipeline.source("INSERT INTO journal (kind) SELECT g FROM generate_series(1, 300) g");

        pipeline.writeConfig(List.of(Workload.TABLES), "");
        Pipeline.Outcome resume = pipeline.run("resume", "--exit-when-caught-up");

        assertThat(resume.exitCode()).as(resume.err() + Files.readString(log)).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        long journal = pipeline.sourceLong("SELECT count(*) FROM journal");
        assertThat(pipeline.shadowLong("SELECT snapshot_rows + inserts FROM scry_backfill.table_progress WHERE table_name = 'journal'"))
                .isEqualTo(journal);
    }
}
