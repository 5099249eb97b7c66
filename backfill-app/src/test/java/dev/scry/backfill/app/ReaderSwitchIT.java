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

import dev.scry.backfill.testing.PgPair;

/**
 * {@code stream.reader} is independent of {@code snapshot.method}, and a pipeline changes reader
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

    @Test
    void copySnapshotThenDebeziumStreaming() throws Exception {
        pipeline.streamingWith(Pipeline.Reader.DEBEZIUM);
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("BEGIN; UPDATE accounts SET balance = balance - 5 WHERE id <= 100; DELETE FROM events WHERE id % 4 = 0;"
                + " INSERT INTO journal (kind) SELECT g FROM generate_series(1, 50) g; COMMIT");

        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.shadowLong(JOURNAL_INSERTS)).isEqualTo(50);
    }

    @Test
    void debeziumSnapshotThenPgoutputStreaming() throws Exception {
        pipeline.writeConfig(List.of(Workload.TABLES), BATCH + "snapshot: {method: debezium}\n");
        pipeline.streamingWith(Pipeline.Reader.PGOUTPUT);
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("UPDATE accounts SET owner = owner || '+' WHERE id <= 30",
                "INSERT INTO journal (kind) SELECT g FROM generate_series(1, 20) g");

        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        assertThat(pipeline.shadowLong(JOURNAL_INSERTS)).isEqualTo(20);
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
