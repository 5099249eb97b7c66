package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.testing.PgPair;

/**
 * One table at a time while cdc runs (and through the configuration and SIGHUP): `table add` and `table resnapshot` copy in key-ordered chunks
 * between watermarks while a writer keeps writing and never waits on a lock; `table pause` holds
 * the table's changes on the shadow and `table resume` applies them in order; `table remove` takes
 * it out of the publication and leaves its shadow table; `status` shows each table's state.
 */
class TableOperationsIT extends PipelineTest {

    private static final String CONFIG = "snapshot: {chunk-rows: 500}\nbatch: {max-rows: 300, max-delay-ms: 20}\n";

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("table_ops_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE a (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 2000) g");
            st.execute("CREATE TABLE big (id int PRIMARY KEY, v text, pad text)");
            st.execute("INSERT INTO big SELECT g, 'b' || g, repeat('x', 50) FROM generate_series(1, 20000) g");
            st.execute("ANALYZE big");
        }
        pipeline = new Pipeline(db, dir, List.of("public.a"), CONFIG);
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
    }

    @Test
    void aTableAddedWhileCdcRunsIsCopiedInChunksWhileItsWriterNeverWaits() throws Exception {
        Process cdc = startCdc();
        try (SourceWriter writer = new SourceWriter(db, "big", 20000).start(); LockSampler locks = new LockSampler(db)) {
            Pipeline.await("the writer writes", Duration.ofSeconds(10), () -> writer.writes() > 20);
            writer.measure(true);

            Pipeline.Outcome add = pipeline.run(List.of("table", "add"), "public.big");

            writer.measure(false);
            assertThat(add.exitCode()).as(add.out() + add.err()).isZero();
            assertThat(add.out()).contains("added public.big", "in chunks of 500 rows");
            assertThat(locks.seen()).as("no writer waited on a table lock; scry-backfill held none that would make one wait").isEmpty();
            assertThat(locks.samples()).isGreaterThan(10);
            assertThat(writer.measured()).isGreaterThan(10);
        }
        JsonNode status = status();
        assertThat(status.get("tables").get("public.big").get("state").get("name").asText()).isEqualTo("streaming");
        stopCaughtUp(cdc);
        pipeline.assertShadowEqualsSource("public.a", "public.big");
        assertThat(pipeline.run("verify").out()).contains("public.big", "equal: 0 of 2 table(s) differ");
    }

    @Test
    void resnapshotWhileCdcRunsCopiesAgainInChunksAndStatusShowsItsProgress() throws Exception {
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE a ALTER COLUMN v SET STORAGE EXTERNAL");
            st.execute("UPDATE a SET v = repeat('t', 3000) || id WHERE id % 100 = 0");
        }
        Process cdc = startCdc();
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("UPDATE a SET v = 'wrong' WHERE id < 50");
            st.execute("DELETE FROM a WHERE id BETWEEN 1000 AND 1010");
            st.execute("INSERT INTO a VALUES (-1, 'extra')");
        }
        AtomicReference<String> copying = new AtomicReference<>();
        Thread watcher = new Thread(() -> {
            while (copying.get() == null) {
                try {
                    JsonNode state = status().get("tables").get("public.a").get("state");
                    if (state.get("name").asText().equals("copying")) {
                        copying.set(state.toString());
                    }
                    Thread.sleep(20);
                }
                catch (Exception e) {
                    return;
                }
            }
        });
        try (SourceWriter writer = new SourceWriter(db, "a", 2000).start(); LockSampler locks = new LockSampler(db)) {
            watcher.start();
            Pipeline.Outcome resnapshot = pipeline.run(List.of("table", "resnapshot"), "public.a");

            assertThat(resnapshot.exitCode()).as(resnapshot.out() + resnapshot.err()).isZero();
            assertThat(resnapshot.out()).contains("copied public.a again");
            assertThat(locks.seen()).isEmpty();
            // An update leaving the TOASTed value unsent, on rows the copy may not have reached yet.
            pipeline.source("UPDATE a SET id = id WHERE id % 100 = 0");
        }
        finally {
            copying.compareAndSet(null, "never seen");
            watcher.join();
        }
        assertThat(copying.get()).as("status while copying").contains("\"mode\":\"resnapshot\"", "\"rows_copied\"");
        stopCaughtUp(cdc);
        pipeline.assertShadowEqualsSource("public.a");
    }

    @Test
    void aTableOtherTablesForeignKeysReferToIsCopiedAgainToo() throws Exception {
        pipeline.source("CREATE TABLE child (id int PRIMARY KEY, a_id int REFERENCES a (id), v text)",
                "INSERT INTO child SELECT g, g, 'c' FROM generate_series(1, 100) g");
        Process cdc = startCdc();
        Pipeline.Outcome add = pipeline.run(List.of("table", "add"), "public.child");
        assertThat(add.exitCode()).as(add.out() + add.err()).isZero();
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            // A table joining alone gets no foreign key to a table outside its own copy; here the shadow gets it as the source has it.
            st.execute("ALTER TABLE child ADD FOREIGN KEY (a_id) REFERENCES a (id)");
            st.execute("UPDATE a SET v = 'wrong' WHERE id < 10");
        }

        Pipeline.Outcome resnapshot = pipeline.run(List.of("table", "resnapshot"), "public.a");

        assertThat(resnapshot.exitCode()).as(resnapshot.out() + resnapshot.err()).isZero();
        stopCaughtUp(cdc);
        pipeline.assertShadowEqualsSource("public.a", "public.child");
    }

    @Test
    void aPausedTablesChangesAreHeldAndAppliedInOrderOnResume() throws Exception {
        Process cdc = startCdc();
        Pipeline.Outcome pause = pipeline.run(List.of("table", "pause"), "public.a");
        assertThat(pause.exitCode()).as(pause.out() + pause.err()).isZero();
        long before = pipeline.shadowLong("SELECT count(*) FROM a");

        // Order matters: the same row updated twice, deleted and inserted again, the table truncated and refilled.
        pipeline.source("UPDATE a SET v = 'first' WHERE id = 7", "UPDATE a SET v = 'second' WHERE id = 7",
                "DELETE FROM a WHERE id = 8", "INSERT INTO a VALUES (8, 'again')",
                "BEGIN; TRUNCATE a; INSERT INTO a SELECT g, 'after truncate' FROM generate_series(1, 500) g; COMMIT",
                "UPDATE a SET v = 'last' WHERE id = 9");
        Pipeline.await("the changes are held", Duration.ofSeconds(30), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM scry_backfill.held_changes") >= 506));
        JsonNode paused = status().get("tables").get("public.a").get("state");
        assertThat(paused.get("name").asText()).isEqualTo("paused");
        assertThat(paused.get("held_changes").asLong()).isGreaterThanOrEqualTo(506);
        assertThat(paused.get("held_bytes").asLong()).isPositive();
        System.out.printf("paused: %d changes held in %d bytes%n", paused.get("held_changes").asLong(), paused.get("held_bytes").asLong());
        assertThat(pipeline.shadowLong("SELECT count(*) FROM a")).as("nothing applied while paused").isEqualTo(before);
        Pipeline.Outcome verify = pipeline.run("verify");
        assertThat(verify.out()).contains("paused since", "not compared until it resumes");

        Pipeline.Outcome resume = pipeline.run(List.of("table", "resume"), "public.a");

        assertThat(resume.exitCode()).as(resume.out() + resume.err()).isZero();
        assertThat(resume.out()).containsPattern("resumed public\\.a at .*: 5\\d\\d held change");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.held_changes")).isZero();
        pipeline.source("UPDATE a SET v = 'streaming again' WHERE id = 10");
        stopCaughtUp(cdc);
        pipeline.assertShadowEqualsSource("public.a");
    }

    @Test
    void aRemovedTableLeavesThePublicationAndItsShadowTableStaysAcrossRestarts() throws Exception {
        Process cdc = startCdc();

        Pipeline.Outcome remove = pipeline.run(List.of("table", "remove"), "public.a");

        assertThat(remove.exitCode()).as(remove.out() + remove.err()).isZero();
        assertThat(remove.out()).contains("its shadow table stays");
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication_tables WHERE tablename = 'a'")).isZero();
        pipeline.source("UPDATE a SET v = 'not applied' WHERE id = 1");
        stopCaughtUp(cdc);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM a WHERE v = 'not applied'")).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM a")).isEqualTo(2000);
        assertThat(status().get("tables").get("public.a").get("state").get("name").asText()).isEqualTo("removed");

        // Still in `tables`, yet it stays out until `table add`: the next start neither publishes nor copies it.
        Pipeline.Outcome again = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication_tables WHERE tablename = 'a'")).isZero();

        Pipeline.Outcome add = pipeline.run(List.of("table", "add"), "public.a");
        assertThat(add.exitCode()).as(add.out() + add.err()).isZero();
        assertThat(add.out()).contains("no daemon runs pipeline", "added public.a");
        pipeline.assertShadowEqualsSource("public.a");
    }

    @Test
    void withoutADaemonTheCommandRunsTheStreamUntilItsRequestIsServed() throws Exception {
        Pipeline.Outcome pause = pipeline.run(List.of("table", "pause"), "public.a");
        assertThat(pause.exitCode()).as(pause.out() + pause.err()).isZero();
        pipeline.source("UPDATE a SET v = 'held' WHERE id = 1");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM a WHERE v = 'held'")).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.held_changes")).isEqualTo(1);

        Pipeline.Outcome resume = pipeline.run(List.of("table", "resume"), "public.a");

        assertThat(resume.exitCode()).as(resume.out() + resume.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM a WHERE v = 'held'")).isEqualTo(1);
        assertThat(pipeline.run(List.of("table", "frobnicate"), "public.a").exitCode()).isEqualTo(2);
        Pipeline.Outcome notOurs = pipeline.run(List.of("table", "pause"), "public.big");
        assertThat(notOurs.exitCode()).isEqualTo(2);
        assertThat(notOurs.out()).contains("public.big is not a table of pipeline", "`table add public.big` adds it");
    }

    @Test
    void aCopyCutByAKillGoesOnFromItsLastChunkWhenTheDaemonStartsAgain() throws Exception {
        Process cdc = startCdc();
        AtomicReference<Pipeline.Outcome> add = new AtomicReference<>();
        Thread command = new Thread(() -> add.set(pipeline.run(List.of("table", "add"), "public.big")));
        command.start();
        Pipeline.await("the copy is under way", Duration.ofSeconds(60), () -> copied("public.big") >= 2000);
        Pipeline.kill9(cdc);
        command.join(30_000);
        assertThat(add.get().exitCode()).as(add.get().out() + add.get().err()).isEqualTo(1);
        assertThat(add.get().err()).contains("stays queued and goes on when `cdc` or `resume` runs again");
        long before = copied("public.big");
        assertThat(before).as("cut part-way").isBetween(2000L, 19_999L);
        pipeline.source("UPDATE big SET v = 'while stopped' WHERE id % 97 = 0", "DELETE FROM big WHERE id % 101 = 0");

        cdc = startCdc();
        Pipeline.await("the request is served", Duration.ofSeconds(120), () -> stateOf("public.big").equals("streaming"));
        stopCaughtUp(cdc);
        pipeline.assertShadowEqualsSource("public.a", "public.big");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.table_requests WHERE state = 'done'"
                + " AND message LIKE '%continued from its last chunk%'")).as("the copy went on where it was cut").isEqualTo(1);
    }

    @Test
    void tablesTheConfigurationGainsOrLosesJoinOrLeaveOnSighup() throws Exception {
        Process cdc = startCdc();

        pipeline.writeConfig(List.of("public.a", "public.big"), CONFIG);
        hangUp(cdc);

        Pipeline.await("big is copied and streams", Duration.ofSeconds(120), dir.resolve("cdc.log"), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM big") == 20000
                        && stateOf("public.big").equals("streaming")));
        pipeline.source("UPDATE big SET v = 'after joining' WHERE id < 100");

        pipeline.writeConfig(List.of("public.big"), CONFIG);
        hangUp(cdc);

        Pipeline.await("a is removed", Duration.ofSeconds(60), () -> stateOf("public.a").equals("removed"));
        stopCaughtUp(cdc);
        pipeline.assertShadowEqualsSource("public.big");
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication_tables WHERE tablename = 'a'")).isZero();
    }

    @Test
    void theDebeziumReaderRefusesTableCommandsSayingWhy() throws Exception {
        assertThat(pipeline.run("teardown", "--drop-metadata").exitCode()).isZero();
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE a");
        }
        pipeline.writeConfig(List.of("public.a"), "stream: {reader: debezium}\n");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();

        Pipeline.Outcome pause = pipeline.run(List.of("table", "pause"), "public.a");
        Pipeline.Outcome repair = pipeline.run("repair");

        assertThat(pause.exitCode()).isEqualTo(2);
        assertThat(pause.err()).contains("streams with the Debezium reader", "set stream.reader: pgoutput");
        assertThat(repair.exitCode()).isEqualTo(2);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM scry_backfill.table_requests")).as("nothing queued").isZero();
    }

    private static void hangUp(Process cdc) throws Exception {
        assertThat(new ProcessBuilder("kill", "-HUP", Long.toString(cdc.pid())).start().waitFor()).isZero();
    }

    private Process startCdc() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        pipeline.awaitStreaming();
        return cdc;
    }

    /** Stops the daemon and lets a `cdc --exit-when-caught-up` apply whatever it had not. */
    private void stopCaughtUp(Process cdc) throws Exception {
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(30))).as(Files.readString(dir.resolve("cdc.log"))).isZero();
        Pipeline.Outcome caughtUp = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(caughtUp.exitCode()).as(caughtUp.err()).isZero();
    }

    /** Rows a copy of the table has committed so far, or -1 while none is under way. */
    private long copied(String table) {
        try {
            JsonNode state = status().get("tables").get(table).get("state");
            return state.has("rows_copied") ? state.get("rows_copied").asLong() : -1;
        }
        catch (Exception | AssertionError e) {
            return -1;
        }
    }

    /** The table's state in `status --json`, or "" while it cannot be read. */
    private String stateOf(String table) {
        try {
            return status().get("tables").get(table).get("state").get("name").asText();
        }
        catch (Exception | AssertionError e) {
            return "";
        }
    }

    private JsonNode status() throws Exception {
        return new ObjectMapper().readTree(pipeline.run("status", "--json").out());
    }
}
