package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.testing.PgPair;

/**
 * `status` says what is running (a daemon holding the pipeline's lock, the slot in use) and what
 * can resume, in text and in JSON: after a snapshot, while cdc runs, after it stopped, after teardown.
 */
class StatusIT extends PipelineTest {

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("status_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g");
        }
        pipeline = new Pipeline(db, dir, List.of("public.t"), "");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
    }

    private JsonNode json() throws Exception {
        Pipeline.Outcome status = pipeline.run("status", "--json");
        assertThat(status.exitCode()).as(status.err()).isZero();
        return new ObjectMapper().readTree(status.out());
    }

    private String text() {
        Pipeline.Outcome status = pipeline.run("status");
        assertThat(status.exitCode()).as(status.err()).isZero();
        return status.out();
    }

    private String checkpointLsn() throws Exception {
        return json().path("checkpoint_lsn").asText();
    }

    @Test
    void afterTheSnapshotNothingRunsAndResumeContinuesFromTheCheckpoint() throws Exception {
        JsonNode state = json().path("state");

        assertThat(state.path("name").asText()).isEqualTo("stopped");
        assertThat(state.path("running").asBoolean(true)).isFalse();
        assertThat(state.path("resumable").asBoolean(false)).isTrue();
        assertThat(state.path("advice").asText()).contains("`resume`", checkpointLsn());
        assertThat(text()).containsPattern("state +stopped: no daemon runs pipeline status_it\\w*; `resume` \\(or `cdc`\\) continues"
                + " from checkpoint LSN " + checkpointLsn());
    }

    @Test
    void whileCdcRunsStatusNamesTheDaemonAndAfterItStopsTheRateIsTheLastRuns() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        try {
            pipeline.awaitStreaming();
            pipeline.source("UPDATE t SET v = v || '!'");
            // The daemon publishes its achieved rate every 2 s.
            Pipeline.await("the daemon reported its rate", Duration.ofSeconds(30), Pipeline.sql(() ->
                    pipeline.shadowLong("SELECT count(*) FROM scry_backfill.rates WHERE pipeline = '" + db.name() + "'") == 1));

            JsonNode running = json();

            assertThat(running.path("state").path("name").asText()).isEqualTo("running");
            assertThat(running.path("state").path("running").asBoolean(false)).isTrue();
            assertThat(running.path("state").path("held_by").asText()).contains("scry-backfill " + db.name() + " (pid " + cdc.pid() + ")");
            assertThat(running.path("slot").path("active").asBoolean(false)).isTrue();
            assertThat(running.path("rate").path("current").asBoolean(false)).isTrue();
            assertThat(text()).containsPattern("state +running: 'scry-backfill " + db.name() + " \\(pid " + cdc.pid() + "\\)'");
        }
        finally {
            cdc.destroy();
            assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(30))).isZero();
        }

        JsonNode stopped = json();

        assertThat(stopped.path("state").path("name").asText()).isEqualTo("stopped");
        assertThat(stopped.path("state").path("held_by").isNull()).isTrue();
        assertThat(stopped.path("rate").path("current").asBoolean(true)).isFalse();
        assertThat(text()).containsPattern("rate +last run achieved \\d+ rows/s").doesNotContain("rate         achieved");
    }

    @Test
    void afterTeardownTheCheckpointIsSaidToBeBeyondResuming() throws Exception {
        String lsn = checkpointLsn();
        Pipeline.Outcome teardown = pipeline.run("teardown");
        assertThat(teardown.exitCode()).as(teardown.err()).isZero();

        JsonNode state = json().path("state");

        assertThat(state.path("name").asText()).isEqualTo("torn down");
        assertThat(state.path("resumable").asBoolean(true)).isFalse();
        assertThat(state.path("advice").asText()).contains("teardown --drop-metadata", "snapshot");
        assertThat(text()).contains("torn down: replication slot " + pipeline.slot() + " is gone, so checkpoint LSN " + lsn
                + " cannot be resumed; start over with `teardown --drop-metadata`, empty the shadow tables, then `snapshot`");
        // Resume agrees with what status said.
        assertThat(pipeline.run("resume").exitCode()).isEqualTo(Main.USAGE);
    }
}
