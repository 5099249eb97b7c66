package dev.scry.backfill.app.ops;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.metrics.MetricsTrackerFactory;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;

import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.sink.ShadowSink;
import dev.scry.backfill.throttle.Throttle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The operations endpoint: Prometheus metrics (Micrometer), {@code /health} and {@code /ready}, on
 * loopback unless configured otherwise. Every metric of ours is named {@code backfill_*}; JVM and
 * HikariCP pool metrics come from their Micrometer binders. Every series carries the label
 * {@code pipeline}, so that one Prometheus, dashboard and rule file serve many pipelines.
 *
 * <p>Readiness means this instance does its part and both databases answered within the last
 * probe: it snapshots or streams, or it is a standby waiting for the active instance's lock (a
 * standby that cannot reach the databases could not take over, and says so). Which instance is
 * active is {@code backfill_active}.
 */
public final class Operations implements AutoCloseable, ShadowSink.Listener {

    private static final Logger LOG = LoggerFactory.getLogger(Operations.class);
    private static final long PROBE_EVERY_MILLIS = 2000;
    private static final String STANDBY = "standby";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpServer server;
    private final ConnectionSettings source;
    private final ConnectionSettings shadow;
    private final String slot;
    private final Map<String, Counter> applied = new ConcurrentHashMap<>();
    private final Counter batches;
    private final DistributionSummary batchSize;
    private final Timer applyLatency;
    private final Counter retries;
    private final Counter errors;
    private final Counter deadLetters;
    private final AtomicLong lagMillis = new AtomicLong();
    private final AtomicLong slotLagBytes = new AtomicLong();
    private final AtomicLong schemaDifferences = new AtomicLong();
    private volatile String phase = "starting";
    private volatile boolean active;
    private volatile boolean sourceUp;
    private volatile boolean shadowUp;
    private final Thread prober;
    private volatile boolean closed;

    private Operations(String host, int port, String pipeline, ConnectionSettings source, ConnectionSettings shadow, String slot)
            throws IOException {
        // Before any meter exists: common tags apply to meters registered after them.
        registry.config().commonTags("pipeline", pipeline);
        this.source = source;
        this.shadow = shadow;
        this.slot = slot;
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        batches = Counter.builder("backfill.batches").description("Shadow transactions committed").register(registry);
        batchSize = DistributionSummary.builder("backfill.batch.size").description("Changes per batch").register(registry);
        applyLatency = Timer.builder("backfill.apply.latency").description("Time to apply a batch and its checkpoint")
                .publishPercentileHistogram().register(registry);
        retries = Counter.builder("backfill.retries").description("Retried shadow writes").register(registry);
        errors = Counter.builder("backfill.errors").description("Faults that stopped or restarted a run").register(registry);
        deadLetters = Counter.builder("backfill.dead.letters").description("Changes stored as dead letters").register(registry);
        Gauge.builder("backfill.lag.seconds", lagMillis, v -> v.get() / 1000.0)
                .description("Source commit to shadow commit, for the last batch").register(registry);
        Gauge.builder("backfill.slot.lag.bytes", slotLagBytes, AtomicLong::doubleValue)
                .description("WAL between the source's position and the slot's confirmed position").register(registry);
        Gauge.builder("backfill.schema.differences", schemaDifferences, AtomicLong::doubleValue)
                .description("Schema objects that differ between source and shadow at the last drift check").register(registry);
        Gauge.builder("backfill.ready", this, o -> o.ready() ? 1 : 0).description("1 when /ready says ready").register(registry);
        Gauge.builder("backfill.active", this, o -> o.active ? 1 : 0)
                .description("1 while this instance holds the pipeline's lock (0: a standby, or not started)").register(registry);
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.createContext("/metrics", ex -> respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
        server.createContext("/health", ex -> respond(ex, 200, "application/json", "{\"status\":\"UP\"}"));
        server.createContext("/ready", ex -> {
            boolean ready = ready();
            respond(ex, ready ? 200 : 503, "application/json", "{\"status\":\"" + (ready ? "READY" : "NOT_READY") + "\",\"phase\":\"" + phase
                    + "\",\"source\":" + sourceUp + ",\"shadow\":" + shadowUp + "}");
        });
        server.setExecutor(null);
        server.start();
        prober = new Thread(this::probe, "ops-prober");
        prober.setDaemon(true);
        prober.start();
        LOG.info("metrics and health on http://{}:{}/ (/metrics, /health, /ready)", host, server.getAddress().getPort());
    }

    /** Starts the endpoint, or returns null when {@code port} is 0 (off). */
    public static Operations start(String host, int port, String pipeline, ConnectionSettings source, ConnectionSettings shadow,
                                   String slot) {
        if (port == 0) {
            return null;
        }
        try {
            return new Operations(host, port, pipeline, source, shadow, slot);
        }
        catch (IOException e) {
            throw new dev.scry.backfill.error.SetupException("cannot serve metrics on " + host + ":" + port + " (" + e.getMessage()
                    + "); set metrics.port to a free port, or 0 to turn the endpoint off", e);
        }
    }

    /** The port the endpoint listens on. */
    public int port() {
        return server.getAddress().getPort();
    }

    public boolean ready() {
        return ("snapshot".equals(phase) || "streaming".equals(phase) || STANDBY.equals(phase)) && sourceUp && shadowUp;
    }

    /** Waiting for the active instance's lock, ready to take over. */
    public void standby() {
        phase = STANDBY;
    }

    /** Holds the pipeline's lock: the active instance from now on. */
    public void active() {
        active = true;
        phase = "starting";
    }

    public void phase(String phase) {
        this.phase = phase;
    }

    public MetricsTrackerFactory poolMetrics() {
        return new MicrometerMetricsTrackerFactory(registry);
    }

    /** A committed batch: its changes by table and operation, its size, and the commit lag. */
    public void batch(Map<TableId, long[]> byTableAndOp, int size, Long sourceCommitMicros) {
        batches.increment();
        batchSize.record(size);
        byTableAndOp.forEach((table, n) -> {
            String[] ops = {"snapshot", "insert", "update", "delete", "truncate"};
            for (int i = 0; i < ops.length; i++) {
                if (n[i] > 0) {
                    String op = ops[i];
                    applied.computeIfAbsent(table + "|" + op, k -> Counter.builder("backfill.changes.applied")
                            .description("Changes applied to the shadow").tag("table", table.toString()).tag("op", op)
                            .register(registry)).increment(n[i]);
                }
            }
        });
        if (sourceCommitMicros != null && sourceCommitMicros > 0) {
            lagMillis.set(Math.max(0, System.currentTimeMillis() - sourceCommitMicros / 1000));
        }
    }

    public void error() {
        errors.increment();
    }

    public void throttle(Throttle throttle) {
        FunctionCounter.builder("backfill.throttled", throttle, Throttle::waitedSeconds).baseUnit("seconds")
                .description("Time spent held back by the rate limit").register(registry);
    }

    /** Snapshot rows copied and the planner's estimate, per table. */
    public void snapshot(java.util.function.Supplier<Map<TableId, Long>> rows, Map<TableId, Long> estimates) {
        for (Map.Entry<TableId, Long> e : estimates.entrySet()) {
            TableId t = e.getKey();
            Gauge.builder("backfill.snapshot.rows", rows, r -> r.get().getOrDefault(t, 0L)).tag("table", t.toString()).strongReference(true)
                    .description("Rows copied by the snapshot").register(registry);
            Gauge.builder("backfill.snapshot.rows.estimated", e, x -> x.getValue()).tag("table", t.toString()).strongReference(true)
                    .description("The planner's row estimate").register(registry);
        }
    }

    @Override
    public void retried() {
        retries.increment();
    }

    @Override
    public void deadLettered(TableId table) {
        deadLetters.increment();
    }

    @Override
    public void applied(long nanos) {
        applyLatency.record(java.time.Duration.ofNanos(nanos));
    }

    private void probe() {
        while (!closed) {
            shadowUp = reachable(shadow, null);
            sourceUp = reachable(source, slot);
            try {
                Thread.sleep(PROBE_EVERY_MILLIS);
            }
            catch (InterruptedException e) {
                return;
            }
        }
    }

    private boolean reachable(ConnectionSettings where, String slotName) {
        java.util.Properties p = where.jdbcProperties("scry-backfill probe");
        p.setProperty("connectTimeout", "3");
        p.setProperty("loginTimeout", "3");
        try (Connection c = DriverManager.getConnection(where.jdbcUrl(), p)) {
            if (slotName != null) {
                new SourceAdmin(c).slotLagBytes(slotName).ifPresent(slotLagBytes::set);
            }
            return true;
        }
        catch (SQLException e) {
            return false;
        }
    }

    private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        prober.interrupt();
        server.stop(0);
        registry.close();
    }

    /** The last drift check's count of schema objects that differ. */
    public void schemaDifferences(long n) {
        schemaDifferences.set(n);
    }
}
