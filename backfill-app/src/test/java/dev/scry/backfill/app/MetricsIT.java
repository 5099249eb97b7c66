package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.scry.backfill.testing.PgPair;

/**
 * /metrics during a CDC run, every series labelled with its pipeline, /ready following the shadow,
 * and the alert rules, dashboard and manifests naming only exported metrics.
 */
class MetricsIT extends PipelineTest {

    private OpsEndpoint ops;

    @BeforeEach
    void setUp() throws Exception {
        ops = new OpsEndpoint(OpsEndpoint.freePort());
        db = PgPair.get().newDatabases("metrics_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO orders SELECT g, 'v' FROM generate_series(1, 1000) g");
        }
        pipeline = new Pipeline(db, dir, List.of("public.orders"), "metrics: {port: 0}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.writeConfig(List.of("public.orders"), "metrics: {host: 127.0.0.1, port: " + ops.port() + "}\nbatch: {max-rows: 50, max-delay-ms: 20}\n");
    }

    @Test
    @Timeout(240)
    void metricsReadinessRulesAndDashboard() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        Pipeline.await("the endpoint is ready", Duration.ofSeconds(60), () -> ops.status("/ready") == 200);
        assertThat(ops.status("/health")).isEqualTo(200);
        pipeline.source("INSERT INTO orders SELECT g, 'new' FROM generate_series(1001, 1300) g", "UPDATE orders SET v = 'u' WHERE id <= 100",
                "DELETE FROM orders WHERE id > 1250");
        String p = "pipeline=\"" + db.name() + "\"";
        Pipeline.await("the changes are counted", Duration.ofSeconds(60),
                () -> ops.body("/metrics").contains("backfill_changes_applied_total{op=\"delete\"," + p + ",table=\"public.orders\"}"));
        String metrics = ops.body("/metrics");
        assertThat(OpsEndpoint.value(metrics, "backfill_changes_applied_total{op=\"insert\"," + p + ",table=\"public.orders\"}")).isEqualTo(300);
        assertThat(OpsEndpoint.value(metrics, "backfill_changes_applied_total{op=\"update\"," + p + ",table=\"public.orders\"}")).isEqualTo(100);
        assertThat(OpsEndpoint.value(metrics, "backfill_batches_total{" + p + "}")).isPositive();
        assertThat(OpsEndpoint.value(metrics, "backfill_active{" + p + "}")).isEqualTo(1);
        assertThat(metrics).contains("backfill_lag_seconds{").contains("backfill_apply_latency_seconds_bucket")
                .contains("backfill_slot_lag_bytes{").contains("hikaricp_connections").contains("jvm_memory_used_bytes");
        assertThat(OpsEndpoint.value(metrics, "backfill_snapshot_rows{" + p + ",table=\"public.orders\"}")).isEqualTo(1000);
        // One Prometheus scrapes many pipelines: every series says which one it belongs to.
        assertThat(metrics.lines().filter(l -> !l.startsWith("#") && !l.isBlank()).filter(l -> !l.contains(p)))
                .as("series without the pipeline label").isEmpty();

        Map<Path, Set<String>> named = DeployFiles.metricNames();
        assertThat(named).containsKeys(Path.of("prometheus-rules.yml"), Path.of("grafana-dashboard.json"));
        named.forEach((file, names) -> {
            for (String metric : names) {
                assertThat(metrics).as(file + " names " + metric).containsPattern("(?m)^" + metric + "[{ ]");
            }
        });

        assumeTrue(PgPair.get().controllable(), "the readiness flip needs local clusters the test can stop");
        PgPair.get().stop("shadow");
        try {
            Pipeline.await("/ready says 503 while the shadow is down", Duration.ofSeconds(30), () -> ops.status("/ready") == 503);
            assertThat(ops.body("/ready")).contains("\"shadow\":false");
        }
        finally {
            PgPair.get().start("shadow");
        }
        Pipeline.await("/ready is back to 200", Duration.ofSeconds(60), () -> ops.status("/ready") == 200);
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).isZero();
    }
}
