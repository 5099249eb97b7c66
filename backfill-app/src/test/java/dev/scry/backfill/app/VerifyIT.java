package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.testing.PgPair;

/** `verify`: equal tables exit 0; a shadow altered by hand exits 3 and names each differing key. */
class VerifyIT extends PipelineTest {

    private static final String ODD = "public.\"Odd \"\"Name\"\"; --x\"";

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("verify_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE pairs (a text, b int, v jsonb, PRIMARY KEY (a, b))");
            st.execute("INSERT INTO pairs SELECT 'k' || (g % 10), g, jsonb_build_object('g', g) FROM generate_series(1, 50000) g");
            st.execute("CREATE TABLE \"Odd \"\"Name\"\"; --x\" (\"Id\" int PRIMARY KEY, \"v;\" text)");
            st.execute("INSERT INTO \"Odd \"\"Name\"\"; --x\" SELECT g, 'v' FROM generate_series(1, 100) g");
            st.execute("CREATE TABLE bag (v text)");
            st.execute("ALTER TABLE bag REPLICA IDENTITY FULL");
            st.execute("INSERT INTO bag VALUES ('a'), ('a'), ('b')");
        }
        pipeline = new Pipeline(db, dir, List.of("public.pairs", ODD, "public.bag"), "");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
    }

    @Test
    void equalTablesExitZero() {
        Pipeline.Outcome verify = pipeline.run("verify");
        assertThat(verify.exitCode()).as(verify.err()).isZero();
        assertThat(verify.out()).contains("public.pairs", "equal: 0 of 3 table(s) differ");
    }

    @Test
    void whileCdcRunsVerifyWaitsForTheShadowToCatchUp() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        pipeline.awaitStreaming();
        // Changes the daemon has not applied yet when verify starts reading.
        pipeline.source("UPDATE pairs SET v = '{\"g\": 0}' WHERE b % 3 = 0", "DELETE FROM pairs WHERE b % 7 = 0");

        Pipeline.Outcome verify = pipeline.run("verify");

        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("compared while cdc runs");
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, java.time.Duration.ofSeconds(30))).isZero();
    }

    @Test
    void whileCdcRunsAShadowThatHasNotCaughtUpIsSaidToBeBehindNotSimplyDifferent() throws Exception {
        pipeline.writeConfig(List.of("public.pairs", ODD, "public.bag"), "rate-limit: {rows-per-second: 20}\n");
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        try {
            pipeline.awaitStreaming();
            // At 20 rows/s the daemon needs minutes for the second of these (the rate limiter lets a batch
            // through and makes the next one wait for it); verify waits 2 s.
            pipeline.source("UPDATE pairs SET v = '{\"g\": 0}' WHERE b % 25 = 0", "UPDATE pairs SET v = '{\"g\": 1}' WHERE b % 25 = 1");

            Pipeline.Outcome verify = pipeline.run("verify", "--wait-s", "2");

            assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(3);
            assertThat(verify.out()).contains("had not applied the source's changes up to the comparison within 2 s");
        }
        finally {
            Pipeline.kill9(cdc);
        }
    }

    @Test
    void whileCdcRunsAnIdleSourceComparesEqual() throws Exception {
        Process cdc = startCdc();
        try {
            Pipeline.Outcome verify = pipeline.run("verify", "--json");

            assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
            JsonNode doc = new ObjectMapper().readTree(verify.out());
            assertThat(doc.get("equal").asBoolean()).isTrue();
            assertThat(doc.get("pipeline_running").asBoolean()).isTrue();
            assertThat(doc.get("moving_target").asBoolean()).isFalse();
        }
        finally {
            stop(cdc);
        }
    }

    @Test
    void whileCdcRunsARowChangedOnTheShadowBehindThePipelinesBackIsADifference() throws Exception {
        Process cdc = startCdc();
        try {
            try (Connection c = db.shadow(); Statement st = c.createStatement()) {
                st.execute("UPDATE pairs SET v = '{\"g\": -1}' WHERE a = 'k7' AND b = 12347");
            }

            Pipeline.Outcome verify = pipeline.run("verify");

            assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(3);
            assertThat(verify.out()).contains("changed (a, b)=(k7,12347)", "DIFFERENT: 1 of 3 table(s) differ")
                    .doesNotContain("moving target");
            JsonNode doc = new ObjectMapper().readTree(pipeline.run("verify", "--json").out());
            assertThat(doc.get("moving_target").asBoolean()).isFalse();
            assertThat(doc.get("tables").get(0).get("status").asText()).isEqualTo("different");
        }
        finally {
            stop(cdc);
        }
    }

    @Test
    void aTableWrittenThroughoutTheComparisonIsReportedAsAMovingTarget() throws Exception {
        Process cdc = startCdc();
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread writer = new Thread(() -> {
            try (Connection c = db.source(); Statement st = c.createStatement()) {
                for (int n = 0; writing.get(); n++) {
                    st.execute("UPDATE pairs SET v = jsonb_build_object('n', " + n + ") WHERE a = 'k3' AND b = 3");
                    Thread.sleep(5);
                }
            }
            catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "writer");
        writer.start();
        try {
            Pipeline.Outcome verify = pipeline.run("verify", "--json");

            assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(3);
            JsonNode doc = new ObjectMapper().readTree(verify.out());
            assertThat(doc.get("moving_target").asBoolean()).isTrue();
            assertThat(doc.get("tables").get(0).get("moving_target").asBoolean()).as("pairs, written").isTrue();
            assertThat(doc.get("tables").get(1).get("moving_target").asBoolean()).as("not written").isFalse();
        }
        finally {
            writing.set(false);
            writer.join();
            stop(cdc);
        }
    }

    private Process startCdc() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        pipeline.awaitStreaming();
        return cdc;
    }

    private static void stop(Process cdc) throws InterruptedException {
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, java.time.Duration.ofSeconds(30))).isZero();
    }

    @Test
    void handEditedShadowExitsThreeNamingEachKey() throws Exception {
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("UPDATE pairs SET v = '{\"g\": -1}' WHERE a = 'k7' AND b = 12347");
            st.execute("DELETE FROM pairs WHERE a = 'k1' AND b = 41");
            st.execute("INSERT INTO pairs VALUES ('extra', 1, NULL)");
            st.execute("UPDATE \"Odd \"\"Name\"\"; --x\" SET \"v;\" = 'changed' WHERE \"Id\" = 5");
            st.execute("DELETE FROM bag WHERE ctid = (SELECT ctid FROM bag WHERE v = 'a' LIMIT 1)");
        }
        Pipeline.Outcome verify = pipeline.run("verify");

        assertThat(verify.exitCode()).as(verify.err()).isEqualTo(3);
        assertThat(verify.out()).contains("changed (a, b)=(k7,12347)", "missing (a, b)=(k1,41)", "extra   (a, b)=(extra,1)",
                "changed (Id)=(5)", "DIFFERENT: 3 of 3 table(s) differ");
        assertThat(verify.out()).containsPattern("changed +row \\(a\\)");

        Pipeline.Outcome json = pipeline.run("verify", "--json");
        assertThat(json.exitCode()).isEqualTo(3);
        JsonNode doc = new ObjectMapper().readTree(json.out());
        assertThat(doc.get("equal").asBoolean()).isFalse();
        JsonNode pairs = doc.get("tables").get(0);
        assertThat(pairs.get("status").asText()).isEqualTo("different");
        assertThat(pairs.get("source_rows").asLong()).isEqualTo(50_000);
        assertThat(pairs.get("differences")).hasSize(3);
    }
}
