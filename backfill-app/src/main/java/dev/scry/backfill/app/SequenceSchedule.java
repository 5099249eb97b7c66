package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.sink.schema.SequenceSync;

/**
 * Copies sequence values every {@code sequences.sync-interval-ms} while {@code cdc} runs, on a
 * thread of its own with connections of its own (the stream's position has nothing to do with
 * them: logical replication carries no sequence values). A failed round is logged and the next
 * one tries again.
 */
final class SequenceSchedule implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SequenceSchedule.class);

    private final BackfillConfig config;
    private final SequenceSync sync;
    private final Thread thread;
    private volatile boolean closed;

    private SequenceSchedule(BackfillConfig config, SequenceSync sync) {
        this.config = config;
        this.sync = sync;
        this.thread = new Thread(this::loop, "sequence-sync");
        this.thread.setDaemon(true);
    }

    static SequenceSchedule start(BackfillConfig config, SequenceSync sync) {
        SequenceSchedule schedule = new SequenceSchedule(config, sync);
        if (!sync.isEmpty() && !config.sequenceSyncInterval().isZero()) {
            schedule.thread.start();
        }
        return schedule;
    }

    /** One round now, on the caller's thread (at --exit-when-caught-up): failures are the caller's. */
    void syncNow() throws SQLException {
        if (sync.isEmpty()) {
            return;
        }
        synchronized (sync) {
            try (Connection source = ConnectionFactory.open(config.source(), "source"); Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
                int moved = sync.sync(source, shadow);
                LOG.info("copied the values of {} sequence(s) to the shadow", moved);
            }
        }
    }

    private void loop() {
        long every = config.sequenceSyncInterval().toMillis();
        while (!closed) {
            try {
                Thread.sleep(every);
                if (closed) {
                    return;
                }
                synchronized (sync) {
                    try (Connection source = ConnectionFactory.open(config.source(), "source");
                         Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
                        int moved = sync.sync(source, shadow);
                        if (moved > 0) {
                            LOG.debug("copied the values of {} sequence(s) to the shadow", moved);
                        }
                    }
                }
            }
            catch (InterruptedException e) {
                return;
            }
            catch (SQLException | RuntimeException e) {
                if (closed) {
                    return;
                }
                LOG.warn("copying sequence values failed ({}); trying again in {} ms", e instanceof SQLException s ? SqlErrors.describe(s)
                        : e.toString(), every);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
