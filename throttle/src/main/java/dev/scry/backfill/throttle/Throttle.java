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
        return admit(batch.size(), batch.approximateBytes());
    }

    /** Waits until {@code rowCount} rows of {@code byteCount} bytes fit the budget; returns the seconds spent waiting. */
    public double admit(int rowCount, long byteCount) {
        double waited = 0;
        if (rows != null && rowCount > 0) {
            waited += rows.acquire(rowCount);
        }
        if (bytes != null && rowCount > 0) {
            long size = Math.max(1, Math.min(Integer.MAX_VALUE, byteCount));
            waited += bytes.acquire((int) size);
        }
        return waited;
    }
}
