package dev.scry.backfill.source;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Lsn;

/**
 * Reads and writes the checkpoint's offset map, whichever reader wrote it, so that nothing
 * outside this module knows a reader's format, and converts it for the reader about to start:
 * a pipeline can change {@code stream.reader} between runs without losing or repeating a change.
 *
 * <p>Both readers agree on one fact at a source transaction boundary: a position P such that
 * every transaction whose commit record begins before P is on the shadow and none after it is.
 * Logical decoding started at P sends exactly the transactions whose commit record begins at or
 * after P, so each reader resumes exactly from it. The pgoutput reader's offset at a boundary is
 * that P ({@code lsn}); the Debezium engine's offset names the last LSN it processed completely
 * ({@code lsn_proc}), which is such a P once the batch ended on a boundary; the Debezium reader
 * marks those offsets ({@link #BOUNDARY}), since the engine's own keys do not tell.
 *
 * <p>Inside a transaction too large for one batch the readers count differently (the pgoutput
 * reader by message ordinal, the engine by change LSN): such a position converts to neither, and
 * a change of reader there is refused with the way out (let the current reader reach a boundary).
 */
public final class PositionCodec {

    /** Set by the Debezium reader on the offsets of batches that end on a transaction boundary. */
    static final String BOUNDARY = "scry_boundary";

    private PositionCodec() {
    }

    /** The offset at the end of a copy snapshot: nothing after {@code lsn} applied yet. Both readers start from it. */
    public static Map<String, Object> atBoundary(Lsn lsn) {
        return PgOutputPosition.at(lsn);
    }

    /** Whether the pgoutput reader wrote {@code offset} (else the Debezium engine did). */
    static boolean pgoutput(Map<String, ?> offset) {
        return PgOutputPosition.readable(offset);
    }

    /**
     * The boundary position an offset stands at, if it stands at one: every source transaction
     * whose commit record begins before it is on the shadow, none after it.
     */
    public static Optional<Lsn> boundary(Map<String, ?> offset) {
        if (pgoutput(offset)) {
            PgOutputPosition p = PgOutputPosition.read(offset);
            return p.inside() == null ? Optional.of(p.restart()) : Optional.empty();
        }
        boolean marked = Boolean.TRUE.equals(offset.get(BOUNDARY)) || "true".equals(String.valueOf(offset.get(BOUNDARY)));
        return marked ? Optional.of(DebeziumOffsets.lsn(offset)) : Optional.empty();
    }

    /** Where streaming resumes from, as an LSN: the boundary, or the start of the transaction it is inside. */
    public static Lsn restart(Map<String, ?> offset) {
        if (pgoutput(offset)) {
            return PgOutputPosition.read(offset).restart();
        }
        return boundary(offset).orElseGet(() -> DebeziumOffsets.lsn(offset));
    }

    /** The commit time of the last applied source transaction (Unix epoch microseconds), when the offset knows it. */
    public static Optional<Long> commitMicros(Map<String, ?> offset) {
        // Both readers keep it under Debezium's key.
        Object ts = offset.get(PgOutputPosition.TS_USEC);
        return ts instanceof Number n && n.longValue() > 0 ? Optional.of(n.longValue()) : Optional.empty();
    }

    /** The end of a continued snapshot's overlap with the stream that an offset still carries, if any. */
    public static Optional<Lsn> overlapUntil(Map<String, ?> offset) {
        return pgoutput(offset) ? Optional.ofNullable(PgOutputPosition.read(offset).overlapUntil()) : Optional.empty();
    }

    /**
     * The offset with its overlap extended to {@code copiedAt}: rows copied there (a table copied
     * again) are newer than the position streaming resumes from, so its changes before them are
     * skipped (see {@link SnapshotOverlap}). Only the pgoutput reader skips them, so the offset
     * becomes that reader's (refused inside a transaction the engine split).
     */
    public static Map<String, Object> withOverlapUntil(Map<String, ?> offset, Lsn copiedAt) {
        PgOutputPosition p = PgOutputPosition.read(forPgOutput(offset));
        Lsn until = p.overlapUntil() != null && p.overlapUntil().isAfter(copiedAt) ? p.overlapUntil() : copiedAt;
        return new PgOutputPosition(p.restart(), p.inside(), p.commitMicros(), until, p.timeline()).offset();
    }

    /** The offset as the pgoutput reader reads it. */
    static Map<String, Object> forPgOutput(Map<String, ?> offset) {
        if (pgoutput(offset)) {
            return new LinkedHashMap<>(offset);
        }
        Lsn at = boundary(offset).orElseThrow(() -> insideTransaction(offset, StreamReader.DEBEZIUM, StreamReader.PGOUTPUT));
        Map<String, Object> converted = PgOutputPosition.at(at);
        commitMicros(offset).ifPresent(ts -> converted.put(PgOutputPosition.TS_USEC, ts));
        return converted;
    }

    /**
     * The offset as the Debezium engine reads it. A pgoutput boundary P becomes what the engine
     * itself writes after committing a transaction that ended at P (last processed and last commit
     * both P): it then streams from P and skips nothing after it.
     */
    static Map<String, Object> forDebezium(Map<String, ?> offset) {
        if (!pgoutput(offset)) {
            return new LinkedHashMap<>(offset);
        }
        Lsn at = boundary(offset).orElseThrow(() -> insideTransaction(offset, StreamReader.PGOUTPUT, StreamReader.DEBEZIUM));
        Map<String, Object> converted = new LinkedHashMap<>();
        converted.put(DebeziumOffsets.LSN, at.value());
        converted.put(DebeziumOffsets.LSN_PROCESSED, at.value());
        converted.put(DebeziumOffsets.LSN_COMMIT, at.value());
        commitMicros(offset).ifPresent(ts -> converted.put(PgOutputPosition.TS_USEC, ts));
        converted.put(BOUNDARY, true);
        return converted;
    }

    /** The Debezium reader's offset for a batch; marked when the batch ends on a transaction boundary. */
    static Map<String, Object> debeziumBatchEnd(Map<String, Object> offset, boolean atBoundary) {
        if (!atBoundary) {
            if (!offset.containsKey(BOUNDARY)) {
                return offset;
            }
            Map<String, Object> unmarked = new LinkedHashMap<>(offset);
            unmarked.remove(BOUNDARY);
            return unmarked;
        }
        Map<String, Object> marked = new LinkedHashMap<>(offset);
        marked.put(BOUNDARY, true);
        return marked;
    }

    private static SetupException insideTransaction(Map<String, ?> offset, StreamReader wrote, StreamReader configured) {
        return new SetupException("the checkpoint does not stand on a source transaction boundary (it is inside a transaction"
                + " larger than batch.max-rows" + (wrote == StreamReader.DEBEZIUM ? ", or an earlier version's Debezium reader wrote it" : "")
                + "), and only there do the "
                + wrote.configName() + " and " + configured.configName() + " readers agree on a position (offset keys "
                + offset.keySet() + "); run once more with stream.reader: " + wrote.configName() + " (e.g. `cdc --exit-when-caught-up`),"
                + " which ends on a boundary, then change stream.reader");
    }
}
