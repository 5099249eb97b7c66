package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.TableDiff;

/**
 * Snapshot workers in processes of their own, as they run on other machines: a coordinating
 * {@code snapshot} and three {@code snapshot-worker}s share the parts of one snapshot; one worker
 * is killed with SIGKILL holding a part, one is stopped (SIGSTOP) past its claim and continued,
 * the coordinator is killed, and {@code resume} (joined by a fresh worker) finishes. Every part
 * is copied exactly once, by the process the journal names, and every table is equal.
 */
class SnapshotWorkersIT {

    private static final List<String> TABLES = List.of("public.orders", "public.items", "public.notes");
    // Parts of about 1 MB, each process at 4,000 rows/s: a part takes two seconds or so, so that
    // kills and stops land inside one, and claims of 5 s expire within the test (shorter ones
    // expired under a load of 15 on two cores while their process was merely starved of CPU).
    private static final String SETTINGS = "snapshot: {chunk-mb: 1, parallelism: 1, claim-timeout-ms: 5000}\n"
            + "rate-limit: {rows-per-second: 4000}\n";

    @TempDir
    Path dir;

    private Databases db;
    private Pipeline pipeline;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("workers_it");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : started) {
            cont(p);
            p.destroyForcibly();
            p.waitFor();
        }
        db.close();
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void workersShareTheSnapshotAndSurviveAKilledWorkerAStoppedWorkerAndAKilledCoordinator() throws Exception {
        long began = System.nanoTime();
        t0 = began;
        pipeline = new Pipeline(db, dir, TABLES, SETTINGS);
        pipeline.source("CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, note text, amount numeric(12,2))",
                "INSERT INTO orders SELECT g, g % 997, repeat(md5(g::text), 2), g / 7.0 FROM generate_series(1, 150000) g",
                "CREATE TABLE items (id int PRIMARY KEY, order_id bigint REFERENCES orders, sku text)",
                "INSERT INTO items SELECT g, g, 'sku-' || md5(g::text) FROM generate_series(1, 40000) g",
                "CREATE INDEX items_sku ON items (sku)", "CREATE INDEX items_order ON items (order_id)",
                "CREATE TABLE notes (at int, body text)", "ALTER TABLE notes REPLICA IDENTITY FULL",
                "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 500) g", "ANALYZE orders, items");

        Process coordinator = spawn("coordinator", "snapshot");
        Pipeline.await("the coordinator publishes its exported snapshot", Duration.ofSeconds(60),
                Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_export") == 1));
        long parts = pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts");
        assertThat(parts).as("parts planned").isGreaterThanOrEqualTo(15);
        step("planned");
        Process killed = spawn("worker-killed", "snapshot-worker");
        Process paused = spawn("worker-paused", "snapshot-worker");
        Process steady = spawn("worker-steady", "snapshot-worker");

        int killedPart = awaitClaim(killed);
        step("killed a worker");
        Pipeline.kill9(killed);
        int pausedPart = awaitClaim(paused);
        step("stopped a worker");
        signal(paused, "STOP");
        Pipeline.await("the steady worker has copied a part", Duration.ofSeconds(60),
                Pipeline.sql(() -> copiedBy(steady) >= 1));
        step("killed the coordinator");
        Pipeline.kill9(coordinator);
        assertThat(pipeline.phase()).isEqualTo("snapshot");
        long leftAtKill = pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE copied_at IS NULL");
        assertThat(leftAtKill).as("parts left when the coordinator was killed").isGreaterThan(0);

        // The stopped worker's claim expires; the steady one (still under the exported snapshot it
        // imported) takes the part over, as it does the killed worker's.
        try {
            Pipeline.await("the stopped worker's part is copied by another", Duration.ofSeconds(60), Pipeline.sql(() ->
                    pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE part = " + pausedPart
                            + " AND copied_at IS NOT NULL AND copied_by NOT LIKE '%:" + paused.pid() + "'") == 1));
        }
        catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nsteady worker:\n" + log("worker-steady") + "\ncoordinator:\n" + log("coordinator"), e);
        }
        step("continued the stopped worker");
        signal(paused, "CONT");
        Pipeline.await("the continued worker's commit is refused", Duration.ofSeconds(60),
                () -> log("worker-paused").contains("part " + pausedPart + " of ") && log("worker-paused").contains("its commit is refused"));

        // The continuation, joined by a worker started before it.
        pipeline.source("UPDATE orders SET amount = -amount WHERE id % 13 = 0", "DELETE FROM orders WHERE id % 17 = 0 AND id > 40000",
                "INSERT INTO orders SELECT g, 1, 'after', 0 FROM generate_series(200001, 200100) g",
                "INSERT INTO notes VALUES (0, 'while continuing')");
        step("commit refused; resuming");
        Process late = spawn("worker-late", "snapshot-worker", "--wait-s", "90");
        Process resume = spawn("resume", "resume", "--exit-when-caught-up");
        assertThat(Pipeline.waitFor(resume, Duration.ofSeconds(150))).as(log("resume")).isZero();
        assertThat(Pipeline.waitFor(steady, Duration.ofSeconds(60))).as(log("worker-steady")).isZero();
        assertThat(Pipeline.waitFor(paused, Duration.ofSeconds(60))).as(log("worker-paused")).isZero();
        // The late worker joined the continuation's export, or found the snapshot completed.
        assertThat(Pipeline.waitFor(late, Duration.ofSeconds(100))).as(log("worker-late")).isZero();
        long continued = pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE copied_at > "
                + "(SELECT min(copied_at) FROM scry_backfill.snapshot_parts)");
        if (continued >= 3) {
            // The continuation published a new export for long enough: the waiting worker took parts of it.
            assertThat(copiedBy(late)).as(log("worker-late")).isGreaterThanOrEqualTo(1);
        }
        step("resume done");
        assertThat(pipeline.phase()).isEqualTo("streaming");
        assertThat(log("resume")).contains("continuing the interrupted snapshot");
        // Every part copied once, by one named process; none by the killed worker after its part
        // was taken, none twice (the counters would double, and the rows compare below).
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE copied_at IS NULL OR copied_by IS NULL"))
                .isZero();
        assertThat(holderOf(killedPart)).doesNotEndWith(":" + killed.pid());
        assertThat(holderOf(pausedPart)).doesNotEndWith(":" + paused.pid());
        for (String table : List.of("orders", "items")) {
            assertThat(pipeline.shadowLong("SELECT snapshot_rows FROM scry_backfill.table_progress WHERE table_name = '" + table + "'"))
                    .as("rows counted for " + table).isEqualTo(pipeline.shadowLong(
                            "SELECT sum(rows) FROM scry_backfill.snapshot_parts WHERE table_name = '" + table + "'"));
        }
        Map<String, Long> byProcess = partsPerProcess();
        assertThat(byProcess.keySet()).as("processes that copied parts").anyMatch(h -> h.endsWith(":" + steady.pid()));
        assertThat(byProcess.keySet()).anyMatch(h -> h.startsWith("snapshot@"));
        long compared = 0;
        try (Connection source = db.source()) {
            for (String t : TABLES) {
                compared += TableDiff.count(source, t);
            }
        }
        pipeline.assertShadowEqualsSource(TABLES.toArray(String[]::new));
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_constraint WHERE contype IN ('p', 'f')"
                + " AND conrelid IN ('orders'::regclass, 'items'::regclass)")).isEqualTo(3);
        System.out.printf("snapshot workers: %d parts; parts per process: %s; killed worker's part %d, stopped worker's part %d"
                + " copied by others; %d parts left when the coordinator was killed, %d copied by the continuation and the late worker;"
                + " %d rows compared, all equal; %d s%n", parts, byProcess, killedPart, pausedPart, leftAtKill, continued, compared, (System.nanoTime() - began) / 1_000_000_000L);
    }

    @Test
    void aWorkerWithoutARunningSnapshotIsRefused() throws Exception {
        pipeline = new Pipeline(db, dir, List.of("public.lone"), "");
        pipeline.source("CREATE TABLE lone (id int PRIMARY KEY)");
        Pipeline.Outcome none = pipeline.run("snapshot-worker");
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err().strip()).startsWith("error: no snapshot of pipeline workers_it").contains("start `snapshot`").doesNotContain("\n");

        pipeline.writeConfig(List.of("public.lone"), "snapshot: {method: debezium}\n");
        Pipeline.Outcome debezium = pipeline.run("snapshot-worker");
        assertThat(debezium.exitCode()).isEqualTo(2);
        assertThat(debezium.err().strip()).startsWith("error: snapshot.method is debezium").contains("snapshot.method: copy").doesNotContain("\n");
    }

    private long t0 = System.nanoTime();

    /** A line per step, with the seconds since the start and the parts copied so far: the test's timeline in its output. */
    private void step(String what) throws SQLException {
        System.out.printf("snapshot workers, %5.1f s: %s (%d parts copied)%n", (System.nanoTime() - t0) / 1e9, what,
                pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE copied_at IS NOT NULL"));
    }

    private Process spawn(String name, String command, String... options) throws IOException {
        Process p = pipeline.spawn(dir.resolve(name + ".log"), command, options);
        started.add(p);
        return p;
    }

    private String log(String name) {
        try {
            return Files.readString(dir.resolve(name + ".log"));
        }
        catch (IOException e) {
            return "";
        }
    }

    /** Waits until the worker holds a claim on a part it has not copied yet (it is copying it), and returns the part. */
    private int awaitClaim(Process worker) throws InterruptedException {
        String held = "SELECT coalesce(min(part), -1) FROM scry_backfill.snapshot_parts WHERE copied_at IS NULL"
                + " AND claim_expires > clock_timestamp() AND claimed_by LIKE '%:" + worker.pid() + "'";
        Pipeline.await("worker " + worker.pid() + " holds a part", Duration.ofSeconds(60), Pipeline.sql(() -> pipeline.shadowLong(held) > 0));
        try {
            return (int) pipeline.shadowLong(held);
        }
        catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    private long copiedBy(Process p) throws SQLException {
        return pipeline.shadowLong("SELECT count(*) FROM scry_backfill.snapshot_parts WHERE copied_by LIKE '%:" + p.pid() + "'");
    }

    private String holderOf(int part) throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT copied_by FROM scry_backfill.snapshot_parts WHERE part = " + part)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private Map<String, Long> partsPerProcess() throws SQLException {
        Map<String, Long> out = new TreeMap<>();
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT copied_by, count(*) FROM scry_backfill.snapshot_parts GROUP BY 1")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getLong(2));
            }
        }
        return out;
    }

    private static void signal(Process p, String signal) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor();
    }

    private static void cont(Process p) {
        try {
            signal(p, "CONT");
        }
        catch (IOException | InterruptedException ignored) {
            // Cleaning up.
        }
    }
}
