package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.scry.backfill.testing.PgPair;

/** /metrics during a CDC run, /ready following the shadow, and the alert rules and dashboard naming only exported metrics. */
class MetricsIT extends PipelineTest {

    private int port;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeEach
    void setUp() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        db = PgPair.get().newDatabases("metrics_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO orders SELECT g, 'v' FROM generate_series(1, 1000) g");
        }
        pipeline = new Pipeline(db, dir, List.of("public.orders"), "metrics: {port: 0}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.writeConfig(List.of("public.orders"), "metrics: {host: 127.0.0.1, port: " + port + "}\nbatch: {max-rows: 50, max-delay-ms: 20}\n");
    }

    private HttpResponse<String> get(String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
        catch (Exception e) {
            return null;
        }
    }

    private int status(String path) {
        HttpResponse<String> r = get(path);
        return r == null ? -1 : r.statusCode();
    }

    @Test
    @Timeout(240)
    void metricsReadinessRulesAndDashboard() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        Pipeline.await("the endpoint is ready", Duration.ofSeconds(60), () -> status("/ready") == 200);
        assertThat(status("/health")).isEqualTo(200);
        pipeline.source("INSERT INTO orders SELECT g, 'new' FROM generate_series(1001, 1300) g", "UPDATE orders SET v = 'u' WHERE id <= 100",
                "DELETE FROM orders WHERE id > 1250");
        Pipeline.await("the changes are counted", Duration.ofSeconds(60), () -> {
            HttpResponse<String> r = get("/metrics");
            return r != null && r.body().contains("backfill_changes_applied_total{op=\"delete\",table=\"public.orders\"}");
        });
        String metrics = get("/metrics").body();
        assertThat(value(metrics, "backfill_changes_applied_total{op=\"insert\",table=\"public.orders\"}")).isEqualTo(300);
        assertThat(value(metrics, "backfill_changes_applied_total{op=\"update\",table=\"public.orders\"}")).isEqualTo(100);
        assertThat(value(metrics, "backfill_batches_total")).isPositive();
        assertThat(metrics).contains("backfill_lag_seconds ").contains("backfill_apply_latency_seconds_bucket")
                .contains("backfill_slot_lag_bytes ").contains("hikaricp_connections").contains("jvm_memory_used_bytes");
        assertThat(value(metrics, "backfill_snapshot_rows{table=\"public.orders\"}")).isEqualTo(1000);

        for (String file : List.of("deploy/prometheus-rules.yml", "deploy/grafana-dashboard.json")) {
            Set<String> named = new TreeSet<>();
            Matcher m = Pattern.compile("backfill_[a-z_]+").matcher(Files.readString(dev.scry.backfill.testing.PgPair.repositoryRoot().resolve(file)));
            while (m.find()) {
                named.add(m.group());
            }
            assertThat(named).as(file).isNotEmpty();
            for (String metric : named) {
                assertThat(metrics).as(file + " names " + metric).containsPattern("(?m)^" + metric + "[{ ]");
            }
        }

        assumeTrue(PgPair.get().controllable(), "the readiness flip needs local clusters the test can stop");
        PgPair.get().stop("shadow");
        try {
            Pipeline.await("/ready says 503 while the shadow is down", Duration.ofSeconds(30), () -> status("/ready") == 503);
            assertThat(get("/ready").body()).contains("\"shadow\":false");
        }
        finally {
            PgPair.get().start("shadow");
        }
        Pipeline.await("/ready is back to 200", Duration.ofSeconds(60), () -> status("/ready") == 200);
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).isZero();
    }

    private static double value(String metrics, String series) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError("no series " + series + " in\n" + metrics);
    }
}
