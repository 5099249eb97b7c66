package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.scry.backfill.testing.PgPair;

/**
 * {@code stream.reader} is independent of {@code snapshot.method} (all four combinations), and a pipeline changes reader
 * between runs: the checkpoint's position converts both ways at a transaction boundary, so the
 * shadow ends equal to the source with nothing lost or applied twice.
 */
class ReaderSwitchIT extends PipelineTest {

    private static final String BATCH = "batch: {max-rows: 100, max-delay-ms: 20}\n";
    private static final String JOURNAL_INSERTS = "SELECT inserts FROM scry_backfill.table_progress WHERE table_name = 'journal'";

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("switch_it");
        try (Connection c = db.source()) {
            Workload.createSchema(c, 1_000);
        }
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES), BATCH);
    }

    @ParameterizedTest
    @EnumSource(Pipeline.Reader.class)
    void copySnapshotThenStreaming(Pipeline.Reader reader) throws Exception {
        pipeline.streamingWith(reader);
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("BEGIN; UPDATE accounts SET balance = balance - 5 WHERE id <= 100; DELETE FROM events WHERE id % 4 = 0;"
                + " INSERT INTO journal (kind) SELECT g FROM generate_series(1, 50) g; COMMIT");

        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.shadowLong(JOURNAL_INSERTS)).isEqualTo(50);
    }

    @ParameterizedTest
    @EnumSource(Pipeline.Reader.class)
    void debeziumSnapshotThenStreaming(Pipeline.Reader reader) throws Exception {
        pipeline.writeConfig(List.of(Workload.TABLES), BATCH + "snapshot: {method: debezium}\n");
        pipeline.streamingWith(reader);
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("UPDATE accounts SET owner = owner || '+' WHERE id <= 30",
                "INSERT INTO journal (kind) SELECT g FROM generate_series(1, 20) g");

        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.shadowLong(JOURNAL_INSERTS)).isEqualTo(20);
    }

    @Test
    void aSwitchInsideASplitTransactionIsRefusedUntilTheOldReaderReachesABoundary() throws Exception {
        // Throttled so that the kill lands while the big transaction is half applied.
        pipeline.writeConfig(List.of(Workload.TABLES), BATCH + "rate-limit: {rows-per-second: 1000}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        Path log = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(log, "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(pipeline::slotExists));
        pipeline.source("BEGIN; UPDATE events SET kind = 'big-' || id WHERE id <= 800; COMMIT");
        Pipeline.await("part of the big transaction is on the shadow", Duration.ofSeconds(90), Pipeline.sql(() -> {
            long applied = pipeline.shadowLong("SELECT count(*) FROM events WHERE kind LIKE 'big-%'");
            return applied >= 200 && applied < 800;
        }));
        Pipeline.kill9(cdc);
        long before = pipeline.shadowLong("SELECT batches FROM scry_backfill.checkpoint");

        pipeline.writeConfig(List.of(Workload.TABLES), BATCH);
        pipeline.streamingWith(Pipeline.Reader.DEBEZIUM);
        Pipeline.Outcome refused = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err().strip()).contains("does not stand on a source transaction boundary", "stream.reader: pgoutput")
                .doesNotContain("\n");
        assertThat(pipeline.shadowLong("SELECT batches FROM scry_backfill.checkpoint")).as("nothing written").isEqualTo(before);

        // As the message says: the old reader once more, to a boundary; then the new one.
        pipeline.streamingWith(Pipeline.Reader.PGOUTPUT);
        assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();
        pipeline.streamingWith(Pipeline.Reader.DEBEZIUM);
        pipeline.source("UPDATE accounts SET balance = balance + 1 WHERE id <= 3");
        Pipeline.Outcome switched = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(switched.exitCode()).as(switched.err()).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.shadowLong("SELECT updates FROM scry_backfill.table_progress WHERE table_name = 'events'")).isEqualTo(800);
    }

    @Test
    @Timeout(300)
    void switchingReaderMidLifeThroughAKillLosesAndDoublesNothing() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        Path log = dir.resolve("daemon.log");
        try (Workload writes = new Workload(db, false, 11).start()) {
            // pgoutput, stopped cleanly at some point of the running workload.
            Process first = pipeline.spawn(log, "cdc");
            Pipeline.await("the pgoutput reader has applied 40 transactions", Duration.ofSeconds(90),
                    Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM journal") >= 40));
            first.destroy();
            assertThat(Pipeline.waitFor(first, Duration.ofSeconds(60))).as(Files.readString(log)).isZero();

            // Debezium from the pgoutput reader's checkpoint, killed while the workload goes on.
            pipeline.streamingWith(Pipeline.Reader.DEBEZIUM);
            long before = pipeline.shadowLong("SELECT count(*) FROM journal");
            Process second = pipeline.spawn(log, "cdc");
            Pipeline.await("the Debezium reader has applied 40 more transactions", Duration.ofSeconds(90),
                    Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM journal") >= before + 40));
            Pipeline.kill9(second);
            Pipeline.await("the writer has committed 200 transactions", Duration.ofSeconds(60), () -> writes.transactions() >= 200);
        }

        // pgoutput again, from the Debezium reader's checkpoint.
        pipeline.streamingWith(Pipeline.Reader.PGOUTPUT);
        Pipeline.Outcome last = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(last.exitCode()).as(last.err() + Files.readString(log)).isZero();
        assertThat(Files.readString(log)).contains("streaming with the Debezium reader from the pgoutput reader's checkpoint");
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        // Each journal row was inserted once on the source; counted once on the shadow across the three readers' runs.
        assertThat(pipeline.shadowLong(JOURNAL_INSERTS)).isEqualTo(pipeline.sourceLong("SELECT count(*) FROM journal"));
    }
}
