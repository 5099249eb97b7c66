package dev.scry.backfill.throttle;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;

import com.google.common.util.concurrent.RateLimiter;

import dev.scry.backfill.model.ChangeBatch;

/**
 * The rate-limiting stage between the batcher and the sink. Holding a batch back holds back the
 * engine's polling thread, so the engine stops reading the slot (or the snapshot query) until the
 * budget allows: the cap applies to what is read from the source, not just to what is written.
 * Guava's RateLimiter lets one batch through at once and makes the next one wait for its cost.
 * (While a batch waits, Debezium's own keepalive thread keeps the replication connection alive.)
 *
 * <p>The limit can be changed while the pipeline runs ({@link #update}); the counters say what
 * was admitted and how long it waited, for {@code status}.
 */
public final class Throttle {

    private volatile RateLimit limit;
    private volatile RateLimiter rows;
    private volatile RateLimiter bytes;
    private final AtomicLong admittedRows = new AtomicLong();
    private final AtomicLong admittedBytes = new AtomicLong();
    private final DoubleAdder waitedSeconds = new DoubleAdder();

    public Throttle(RateLimit limit) {
        update(limit);
    }

    /** Applies a new limit from now on (0 = unlimited); a running wait finishes at the old rate. */
    public synchronized void update(RateLimit limit) {
        this.limit = limit;
        this.rows = limit.rowsPerSecond() > 0 ? paced(limit.rowsPerSecond()) : null;
        this.bytes = limit.bytesPerSecond() > 0 ? paced(limit.bytesPerSecond()) : null;
    }

    /**
     * A limiter that does not save up: RateLimiter.create(rate) lets an idle second's permits out
     * at once afterwards (a burst of twice the rate right after the slot was quiet); one with a
     * warm-up of a millisecond keeps almost nothing in store, so a burst of changes leaves the
     * source at the configured rate from its first row.
     */
    private static RateLimiter paced(long perSecond) {
        return RateLimiter.create(perSecond, java.time.Duration.ofMillis(1));
    }

    public RateLimit limit() {
        return limit;
    }

    /** Waits until the batch fits the budget; returns the seconds spent waiting. */
    public double admit(ChangeBatch batch) {
        return admit(batch.size(), batch.approximateBytes());
    }

    /** Waits until {@code rowCount} rows of {@code byteCount} bytes fit the budget; returns the seconds spent waiting. */
    public double admit(int rowCount, long byteCount) {
        double waited = 0;
        RateLimiter r = rows;
        RateLimiter b = bytes;
        if (r != null && rowCount > 0) {
            waited += r.acquire(rowCount);
        }
        if (b != null && rowCount > 0) {
            long size = Math.max(1, Math.min(Integer.MAX_VALUE, byteCount));
            waited += b.acquire((int) size);
        }
        admittedRows.addAndGet(Math.max(0, rowCount));
        admittedBytes.addAndGet(Math.max(0, byteCount));
        waitedSeconds.add(waited);
        return waited;
    }

    public long admittedRows() {
        return admittedRows.get();
    }

    public long admittedBytes() {
        return admittedBytes.get();
    }

    /** Total seconds callers spent waiting for the budget. */
    public double waitedSeconds() {
        return waitedSeconds.sum();
    }
}
