package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
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
    private final Periodic rounds;

    private SequenceSchedule(BackfillConfig config, SequenceSync sync) {
        this.config = config;
        this.sync = sync;
        this.rounds = new Periodic("sequence-sync", "copying sequence values", config.sequenceSyncInterval().toMillis(), false, () -> {
            int moved = copy();
            if (moved > 0) {
                LOG.debug("copied the values of {} sequence(s) to the shadow", moved);
            }
        });
    }

    static SequenceSchedule start(BackfillConfig config, SequenceSync sync) {
        SequenceSchedule schedule = new SequenceSchedule(config, sync);
        if (!sync.isEmpty() && !config.sequenceSyncInterval().isZero()) {
            schedule.rounds.start();
        }
        return schedule;
    }

    /** One round now, on the caller's thread (at --exit-when-caught-up): failures are the caller's. */
    void syncNow() throws SQLException {
        if (!sync.isEmpty()) {
            LOG.info("copied the values of {} sequence(s) to the shadow", copy());
        }
    }

    private int copy() throws SQLException {
        synchronized (sync) {
            try (Connection source = ConnectionFactory.open(config.source(), "source"); Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
                return sync.sync(source, shadow);
            }
        }
    }

    @Override
    public void close() {
        rounds.close();
    }
}
