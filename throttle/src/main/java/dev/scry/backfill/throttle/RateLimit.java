package dev.scry.backfill.throttle;

/**
 * Caps on what the pipeline reads from the source; 0 means unlimited.
 */
public record RateLimit(long rowsPerSecond, long bytesPerSecond) {

    public static final RateLimit UNLIMITED = new RateLimit(0, 0);

    public RateLimit {
        if (rowsPerSecond < 0 || bytesPerSecond < 0) {
            throw new IllegalArgumentException("rate limits must be >= 0");
        }
    }

    public boolean unlimited() {
        return rowsPerSecond == 0 && bytesPerSecond == 0;
    }
}
