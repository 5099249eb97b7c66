package dev.scry.backfill.source;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.SourcePosition;

/**
 * Where the pgoutput reader stands, as the checkpoint stores it (the offset map of a
 * {@link SourcePosition}).
 *
 * <p>{@code restart} is the LSN streaming starts from: the end of the last source transaction the
 * shadow has completely, or a position the server reported with nothing pending before it. The
 * server skips every transaction whose commit record begins before the start position and sends
 * every later one whole, so resuming there neither repeats nor misses a transaction. Inside a
 * transaction too large for one batch, {@code inside} names it (by the LSN of its commit, which its
 * BEGIN announces) and how far into it the shadow got: the server sends it again from its start
 * and the reader skips what was applied.
 *
 * <p>Offsets with {@code lsn} alone (the copy snapshot's) are read the same way; the keys are
 * chosen so that such an offset also means the same to Debezium's connector.
 *
 * <p>After a continued snapshot, {@code overlapUntil} says that changes before it may already be
 * in rows copied late (see {@link SnapshotOverlap}); it is kept until the position passes it.
 *
 * @param restart      where to start streaming
 * @param inside       the transaction the position is inside of, or null at a transaction boundary
 * @param commitMicros the commit time of the last applied transaction (Unix epoch microseconds), or 0
 * @param overlapUntil the end of a continued snapshot's overlap with the stream, or null
 * @param timeline     the WAL timeline of the server the position was streamed from, or 0 when unknown (a
 *                     snapshot's position): after a failover it tells whether the position is on the new primary's
 *                     history (see {@link ServerTimeline})
 */
record PgOutputPosition(Lsn restart, Inside inside, long commitMicros, Lsn overlapUntil, int timeline)
        implements Supplier<SourcePosition> {

    PgOutputPosition(Lsn restart, Inside inside, long commitMicros, Lsn overlapUntil) {
        this(restart, inside, commitMicros, overlapUntil, 0);
    }

    /** The same position, streamed on {@code timeline}. */
    PgOutputPosition onTimeline(int timeline) {
        return new PgOutputPosition(restart, inside, commitMicros, overlapUntil, timeline);
    }

    /**
     * A place inside one transaction: its commit LSN, the ordinal (from 1) of the last row message
     * of it that was applied, and how many of that message's changes were (a key change is two).
     */
    record Inside(Lsn commitLsn, int message, int items) {
    }

    static final String READER = "reader";
    static final String READER_NAME = "pgoutput";
    static final String LSN = DebeziumOffsets.LSN;
    static final String TS_USEC = "ts_usec";
    static final String TX_LSN = "tx_lsn";
    static final String TX_MESSAGE = "tx_message";
    static final String TX_ITEMS = "tx_items";
    static final String OVERLAP_UNTIL = "overlap_until";
    static final String TIMELINE = "timeline";

    /** Keys only Debezium's connector writes: an offset holding one was written by the Debezium reader. */
    private static final java.util.Set<String> DEBEZIUM_KEYS = java.util.Set.of(DebeziumOffsets.LSN_PROCESSED, DebeziumOffsets.LSN_COMMIT,
            DebeziumOffsets.TX_ID, DebeziumOffsets.SNAPSHOT, DebeziumOffsets.LAST_SNAPSHOT_RECORD, DebeziumOffsets.SNAPSHOT_COMPLETED);

    /** Whether an offset in the checkpoint is one this reader can resume from. */
    static boolean readable(Map<String, ?> offset) {
        return offset.containsKey(LSN) && DEBEZIUM_KEYS.stream().noneMatch(offset::containsKey);
    }

    static PgOutputPosition read(Map<String, ?> offset) {
        Lsn restart = new Lsn(number(offset.get(LSN)));
        Inside inside = offset.containsKey(TX_LSN)
                ? new Inside(new Lsn(number(offset.get(TX_LSN))), (int) number(offset.get(TX_MESSAGE)), (int) number(offset.get(TX_ITEMS)))
                : null;
        Object ts = offset.get(TS_USEC);
        Object overlap = offset.get(OVERLAP_UNTIL);
        Object timeline = offset.get(TIMELINE);
        return new PgOutputPosition(restart, inside, ts == null ? 0 : number(ts), overlap == null ? null : new Lsn(number(overlap)),
                timeline == null ? 0 : (int) number(timeline));
    }

    /** The offset for "nothing after {@code lsn} applied yet", at a transaction boundary. */
    static Map<String, Object> at(Lsn lsn) {
        return new PgOutputPosition(lsn, null, 0, null).offset();
    }

    Map<String, Object> offset() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(READER, READER_NAME);
        m.put(LSN, restart.value());
        if (commitMicros != 0) {
            m.put(TS_USEC, commitMicros);
        }
        if (overlapUntil != null && overlapUntil.isAfter(restart)) {
            m.put(OVERLAP_UNTIL, overlapUntil.value());
        }
        if (inside != null) {
            m.put(TX_LSN, inside.commitLsn().value());
            m.put(TX_MESSAGE, inside.message());
            m.put(TX_ITEMS, inside.items());
        }
        if (timeline != 0) {
            m.put(TIMELINE, timeline);
        }
        return m;
    }

    @Override
    public SourcePosition get() {
        return new SourcePosition(Phase.STREAMING, restart, offset());
    }

    private static long number(Object value) {
        if (value instanceof Number n) {
            return n.longValue();
        }
        if (value instanceof String s) {
            return Long.parseLong(s);
        }
        throw new IllegalArgumentException("offset value " + value + " is not a number");
    }
}
