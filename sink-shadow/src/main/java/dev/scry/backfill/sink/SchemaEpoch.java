package dev.scry.backfill.sink;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts changes made to the shadow's schema behind the sink's back (the drift check runs on a
 * thread of its own): the sink forgets what it learnt about the shadow tables' indexes and
 * triggers (whether the order of writes can be seen) when the count moves.
 */
public final class SchemaEpoch {

    private static final AtomicLong EPOCH = new AtomicLong();

    private SchemaEpoch() {
    }

    /** Says that the shadow's schema changed. */
    public static void bump() {
        EPOCH.incrementAndGet();
    }

    static long current() {
        return EPOCH.get();
    }
}
