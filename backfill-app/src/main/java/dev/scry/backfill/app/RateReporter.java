package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.nio.file.Path;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.config.ConfigException;
import dev.scry.backfill.app.config.ConfigLoader;
import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.checkpoint.RateRecords;
import dev.scry.backfill.throttle.RateLimit;
import dev.scry.backfill.throttle.Throttle;

/**
 * Publishes the throttle's configured and achieved rates to the shadow every few seconds (for
 * {@code status}), and applies a new {@code rate-limit} from the configuration file on SIGHUP,
 * without a restart. A file that no longer loads leaves the running limit as it was.
 */
final class RateReporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RateReporter.class);
    private static final long EVERY_MILLIS = 2000;

    private final BackfillConfig config;
    private final Throttle throttle;
    private final Thread thread;
    private volatile boolean closed;
    private final AutoCloseable reloading;

    RateReporter(BackfillConfig config, Throttle throttle) {
        this.config = config;
        this.throttle = throttle;
        this.thread = new Thread(this::loop, "rate-reporter");
        this.thread.setDaemon(true);
        this.thread.start();
        this.reloading = Signals.onReload(this::reload);
    }

    /** SIGHUP: read the file again and apply its rate-limit section. */
    void reload() {
        try {
            RateLimit limit = new ConfigLoader().load(Path.of(config.file())).rateLimit();
            throttle.update(limit);
            LOG.info("rate limit changed to {} rows/s, {} bytes/s (0 = unlimited)", limit.rowsPerSecond(), limit.bytesPerSecond());
        }
        catch (ConfigException e) {
            LOG.warn("rate limit unchanged: {}", e.getMessage());
        }
    }

    private void loop() {
        long lastRows = throttle.admittedRows();
        long lastBytes = throttle.admittedBytes();
        long lastNanos = System.nanoTime();
        RateRecords store = new RateRecords(config.pipeline());
        Connection c = null;
        while (!closed) {
            try {
                Thread.sleep(EVERY_MILLIS);
            }
            catch (InterruptedException e) {
                break;
            }
            long rows = throttle.admittedRows();
            long bytes = throttle.admittedBytes();
            long now = System.nanoTime();
            double seconds = (now - lastNanos) / 1e9;
            try {
                if (c == null || c.isClosed()) {
                    c = Connect.open(config.shadow(), "shadow", "scry-backfill " + config.pipeline() + " rates");
                }
                if (MetadataSchema.exists(c)) {
                    RateLimit limit = throttle.limit();
                    store.write(c, limit.rowsPerSecond(), limit.bytesPerSecond(), (rows - lastRows) / seconds,
                            (bytes - lastBytes) / seconds, throttle.waitedSeconds());
                }
            }
            catch (SQLException | RuntimeException e) {
                LOG.debug("could not record rates: {}", e.toString());
                close(c);
                c = null;
            }
            lastRows = rows;
            lastBytes = bytes;
            lastNanos = now;
        }
        close(c);
    }

    private static void close(Connection c) {
        try {
            if (c != null) {
                c.close();
            }
        }
        catch (SQLException ignored) {
            // Going away anyway.
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            reloading.close();
        }
        catch (Exception e) {
            LOG.debug("unregistering the SIGHUP listener: {}", e.toString());
        }
    }
}
