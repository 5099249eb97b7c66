package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.scry.backfill.testing.PgPair;

/**
 * `table resnapshot` of a large table while cdc runs and a writer keeps updating it: the copy by
 * chunks between watermarks never makes the writer wait on a table lock (pg_locks sampled
 * throughout), its latencies are measured, and the table ends equal. Then, in the same run, the
 * same copy by the locked method (cdc stopped, SHARE lock for the whole copy), to compare the
 * writer's latencies. The suite runs it on {@code resnapshot.rows} = 200,000 rows;
 * {@code scripts/resnapshot-bench.sh} runs it on 2,000,000. Figures go to stdout and to
 * {@code target/resnapshot-load.txt}.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class ResnapshotLoadIT extends PipelineTest {

    private static final int ROWS = Integer.getInteger("resnapshot.rows", 200_000);
    private static final int CHUNK = Integer.getInteger("resnapshot.chunk-rows", 10_000);

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("resnapshot_load_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE load_t (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO load_t SELECT g, md5(g::text) FROM generate_series(1, " + ROWS + ") g");
            st.execute("ANALYZE load_t");
        }
        pipeline = new Pipeline(db, dir, List.of("public.load_t"), "snapshot: {chunk-rows: " + CHUNK + "}\n");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
    }

    @Test
    void aLargeTableIsCopiedAgainWhileAWriterUpdatesItWithoutWaitingOnALock() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        pipeline.awaitStreaming();
        Figures chunked = resnapshot("by chunks, cdc running", false);
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).as(Files.readString(dir.resolve("cdc.log"))).isZero();
        Pipeline.Outcome caughtUp = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(caughtUp.exitCode()).as(caughtUp.err()).isZero();
        pipeline.assertVerifyEqual();

        Figures locked = resnapshot("under a SHARE lock, cdc stopped", true);
        Pipeline.Outcome resumed = pipeline.run("resume", "--exit-when-caught-up");
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        pipeline.assertVerifyEqual();

        String report = String.format("resnapshot of %,d rows (id int, v text), chunks of %,d rows, writer updating one row every ~2 ms:%n%s%n%s%n",
                ROWS, CHUNK, chunked, locked);
        System.out.print(report);
        Files.writeString(Path.of("target", "resnapshot-load.txt"), report);
    }

    /**
     * Runs `table resnapshot` while a writer updates the table and pg_locks is sampled: the copy by
     * chunks must never make the writer wait on a table lock; the locked copy must (else this
     * test could not tell them apart).
     */
    private Figures resnapshot(String how, boolean locked) throws Exception {
        SourceWriter writer = new SourceWriter(db, "load_t", ROWS).start();
        double seconds;
        try (LockSampler locks = new LockSampler(db)) {
            Pipeline.await("the writer writes", Duration.ofSeconds(10), () -> writer.writes() > 50);
            writer.measure(true);
            long started = System.nanoTime();

            Pipeline.Outcome resnapshot = pipeline.run(List.of("table", "resnapshot"), "public.load_t");

            seconds = (System.nanoTime() - started) / 1e9;
            writer.measure(false);
            assertThat(resnapshot.exitCode()).as(resnapshot.out() + resnapshot.err()).isZero();
            if (locked) {
                assertThat(locks.seen()).as("the locked method makes the writer wait").isNotEmpty();
            }
            else {
                assertThat(locks.seen()).as("the writer never waited on a table lock").isEmpty();
            }
        }
        finally {
            // The write in flight ends first, with its latency: one that waited for the whole copy counts.
            writer.close();
        }
        return new Figures(how, seconds, writer);
    }

    /** One copy's figures: its duration, rate, time per million rows, and the writer's latencies meanwhile. */
    private record Figures(String how, double seconds, long writes, double p50, double p99, double max) {
        Figures(String how, double seconds, SourceWriter writer) {
            this(how, seconds, writer.measured(), writer.percentileMillis(50), writer.percentileMillis(99), writer.percentileMillis(100));
        }

        @Override
        public String toString() {
            return String.format("  %-32s %6.1f s, %,9.0f rows/s, %5.1f s per million rows; writer: %,d writes, p50 %.2f ms, p99 %.2f ms,"
                    + " max %.1f ms", how, seconds, ROWS / seconds, seconds * 1_000_000 / ROWS, writes, p50, p99, max);
        }
    }
}
