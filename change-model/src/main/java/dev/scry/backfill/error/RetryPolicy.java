package dev.scry.backfill.error;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter for transient shadow faults, giving up after a total time.
 */
public record RetryPolicy(Duration initialBackoff, Duration maxBackoff, Duration giveUpAfter) {

    public static final RetryPolicy DEFAULT = new RetryPolicy(Duration.ofMillis(200), Duration.ofSeconds(30), Duration.ofMinutes(10));

    public RetryPolicy {
        if (initialBackoff.isNegative() || initialBackoff.isZero() || maxBackoff.compareTo(initialBackoff) < 0 || giveUpAfter.isNegative()) {
            throw new IllegalArgumentException("retry backoff must be > 0, max >= initial, give-up >= 0");
        }
    }

    /** The state of one retried operation. */
    public final class Attempts {
        private final long startNanos = System.nanoTime();
        private int failures;

        /** How long to wait before the next attempt, or -1 when it is time to give up. */
        public long nextDelayMillis() {
            failures++;
            long elapsed = (System.nanoTime() - startNanos) / 1_000_000;
            if (elapsed >= giveUpAfter.toMillis()) {
                return -1;
            }
            long ceiling = initialBackoff.toMillis() << Math.min(failures - 1, 20);
            ceiling = Math.min(ceiling, maxBackoff.toMillis());
            // Full jitter, but never less than the initial backoff.
            return Math.max(initialBackoff.toMillis(), ThreadLocalRandom.current().nextLong(ceiling + 1));
        }

        public int failures() {
            return failures;
        }
    }

    public Attempts start() {
        return new Attempts();
    }
}
