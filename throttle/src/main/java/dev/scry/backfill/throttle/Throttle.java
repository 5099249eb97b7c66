package dev.scry.backfill.throttle;

import com.google.common.util.concurrent.RateLimiter;

import dev.scry.backfill.model.ChangeBatch;

/**
 * The rate-limiting stage between the batcher and the sink. Holding a batch back holds back the
 * engine's polling thread, so the engine stops reading the slot (or the snapshot query) until the
 * budget allows: the cap applies to what is read from the source, not just to what is written.
 * Guava's RateLimiter lets one batch through at once and makes the next one wait for its cost.
 */
public final class Throttle {

    private final RateLimiter rows;
    private final RateLimiter bytes;

    public Throttle(RateLimit limit) {
        this.rows = limit.rowsPerSecond() > 0 ? RateLimiter.create(limit.rowsPerSecond()) : null;
        this.bytes = limit.bytesPerSecond() > 0 ? RateLimiter.create(limit.bytesPerSecond()) : null;
    }

    /** Waits until the batch fits the budget; returns the seconds spent waiting. */
    public double admit(ChangeBatch batch) {
        double waited = 0;
        if (rows != null && batch.size() > 0) {
            waited += rows.acquire(batch.size());
        }
        if (bytes != null && batch.size() > 0) {
            long size = Math.max(1, Math.min(Integer.MAX_VALUE, batch.approximateBytes()));
            waited += bytes.acquire((int) size);
        }
        return waited;
    }
}
