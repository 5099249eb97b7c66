package dev.scry.backfill.source;

import java.util.HashSet;
import java.util.Set;

/**
 * A transaction snapshot of the source, as {@code pg_current_snapshot()} prints it
 * ({@code xmin:xmax:xip,...}), asked whether a streamed transaction (by the 32-bit xid pgoutput
 * gives) is visible to it: whether a read under the snapshot saw that transaction's writes.
 * Visibility, not the order of commit records in the WAL, is what a read sees: a transaction
 * whose commit record is written but which has not yet left the server's list of running
 * transactions (synchronous replication holds it there) comes out of the stream and is still
 * invisible to a snapshot taken after it.
 */
public record XidSnapshot(int xmin, int xmax, Set<Integer> running) {

    public XidSnapshot {
        running = Set.copyOf(running);
    }

    /** Parses {@code pg_current_snapshot()::text}; its 64-bit xids are cut to the 32 bits the stream carries. */
    public static XidSnapshot parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != 3) {
            throw new IllegalArgumentException("not a snapshot: " + text);
        }
        Set<Integer> running = new HashSet<>();
        if (!parts[2].isEmpty()) {
            for (String x : parts[2].split(",")) {
                running.add((int) Long.parseLong(x));
            }
        }
        return new XidSnapshot((int) Long.parseLong(parts[0]), (int) Long.parseLong(parts[1]), running);
    }

    /** Whether the committed transaction {@code xid} is visible to this snapshot. */
    public boolean visible(int xid) {
        if (precedes(xid, xmin)) {
            return true;
        }
        return precedes(xid, xmax) && !running.contains(xid);
    }

    /** TransactionIdPrecedes for normal xids: modulo 2^32, within 2^31 of each other. */
    private static boolean precedes(int a, int b) {
        return a - b < 0;
    }

    @Override
    public String toString() {
        return Integer.toUnsignedString(xmin) + ":" + Integer.toUnsignedString(xmax) + ":" + running.size() + " running";
    }
}
