package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.scry.backfill.testing.PgPair;

/**
 * One active instance per pipeline: a second one is refused, or waits as a standby and takes over,
 * serving its health and readiness while it waits.
 */
class InstanceIT extends PipelineTest {

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("instance_it");
        try (Connection c = db.source()) {
            Workload.createSchema(c, 1_000);
        }
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES), "batch: {max-rows: 100, max-delay-ms: 20}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
    }

    private boolean slotActive() throws java.sql.SQLException {
        return pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + pipeline.slot() + "'") == 1;
    }

    @Test
    @Timeout(120)
    void secondInstanceIsRefusedNamingTheActiveOne() throws Exception {
        // Both on one machine with one metrics port: the refusal names the holder, not the port.
        pipeline.writeConfig(List.of(Workload.TABLES), "batch: {max-rows: 100, max-delay-ms: 20}\nmetrics: {host: 127.0.0.1, port: "
                + OpsEndpoint.freePort() + "}\n");
        Process active = pipeline.spawn(dir.resolve("active.log"), "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(this::slotActive));

        Pipeline.Outcome second = pipeline.run("resume");

        assertThat(second.exitCode()).isEqualTo(2);
        assertThat(second.err()).contains("pipeline " + db.name() + " is already running").contains("(pid " + active.pid() + ")")
                .contains("standby: true");
        assertThat(active.isAlive()).isTrue();
        active.destroy();
        assertThat(Pipeline.waitFor(active, Duration.ofSeconds(60))).isZero();
    }

    @Test
    @Timeout(180)
    void standbyTakesOverWithinThirtySecondsOfTheActiveDying() throws Exception {
        pipeline.writeConfig(List.of(Workload.TABLES), "batch: {max-rows: 100, max-delay-ms: 20}\nstandby: true\n");
        Path log = dir.resolve("instances.log");
        try (Workload writes = new Workload(db, false, 3).start()) {
            Process active = pipeline.spawn(log, "cdc");
            Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(this::slotActive));
            Process standby = pipeline.spawn(dir.resolve("standby.log"), "resume");
            Pipeline.await("the standby waits", Duration.ofSeconds(60), () -> {
                try {
                    return Files.readString(dir.resolve("standby.log")).contains("standby: pipeline");
                }
                catch (java.io.IOException e) {
                    return false;
                }
            });
            Pipeline.await("the writer has committed 100 transactions", Duration.ofSeconds(60), () -> writes.transactions() >= 100);

            Pipeline.kill9(active);
            long killedAt = System.nanoTime();
            long batches = pipeline.shadowLong("SELECT batches FROM scry_backfill.checkpoint");
            Pipeline.await("the standby streams", Duration.ofSeconds(30), Pipeline.sql(() ->
                    slotActive() && pipeline.shadowLong("SELECT batches FROM scry_backfill.checkpoint") > batches));
            System.out.printf("[instance] standby took over %d ms after the active instance was killed%n",
                    (System.nanoTime() - killedAt) / 1_000_000);
            assertThat(standby.isAlive()).isTrue();
            writes.stop();
            pipeline.assertVerifyEqual();
            standby.destroy();
            assertThat(Pipeline.waitFor(standby, Duration.ofSeconds(60))).isZero();
        }
        pipeline.assertShadowEqualsSource(Workload.TABLES);
        long journal = pipeline.sourceLong("SELECT count(*) FROM journal");
        assertThat(pipeline.shadowLong("SELECT snapshot_rows + inserts FROM scry_backfill.table_progress WHERE table_name = 'journal'"))
                .isEqualTo(journal);
    }

    @Test
    @Timeout(180)
    void standbyAnswersHealthAndReadinessWhileItWaitsAndReportsItselfActiveOnceItTakesOver() throws Exception {
        pipeline.writeConfig(List.of(Workload.TABLES),
                "batch: {max-rows: 100, max-delay-ms: 20}\nstandby: true\nmetrics: {host: 127.0.0.1, port: ${METRICS_PORT}}\n");
        OpsEndpoint activeOps = new OpsEndpoint(OpsEndpoint.freePort());
        OpsEndpoint standbyOps = new OpsEndpoint(OpsEndpoint.freePort());
        String activeGauge = "backfill_active{pipeline=\"" + db.name() + "\"}";
        Process active = pipeline.spawn(dir.resolve("active.log"), Map.of("METRICS_PORT", Integer.toString(activeOps.port())), "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(this::slotActive));
        Process standby = pipeline.spawn(dir.resolve("standby.log"), Map.of("METRICS_PORT", Integer.toString(standbyOps.port())), "resume");

        Pipeline.await("the standby says it is ready to take over", Duration.ofSeconds(60),
                () -> standbyOps.status("/ready") == 200 && standbyOps.body("/ready").contains("\"phase\":\"standby\""));
        assertThat(standbyOps.status("/health")).isEqualTo(200);
        assertThat(OpsEndpoint.value(standbyOps.body("/metrics"), activeGauge)).isZero();
        assertThat(OpsEndpoint.value(activeOps.body("/metrics"), activeGauge)).isEqualTo(1);

        Pipeline.kill9(active);
        Pipeline.await("the standby streams and says it is active", Duration.ofSeconds(60),
                () -> standbyOps.body("/ready").contains("\"phase\":\"streaming\"")
                        && OpsEndpoint.value(standbyOps.body("/metrics"), activeGauge) == 1);
        standby.destroy();
        assertThat(Pipeline.waitFor(standby, Duration.ofSeconds(60))).isZero();
    }
}
