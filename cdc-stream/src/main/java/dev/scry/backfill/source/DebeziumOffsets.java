package dev.scry.backfill.source;

import java.util.Map;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.SourcePosition;

/**
 * Reads the PostgreSQL connector's offset map: which phase it describes and which LSN it has
 * covered. The keys are the connector's ({@code PostgresOffsetContext}); we only read them.
 */
public final class DebeziumOffsets {

    static final String SNAPSHOT = "snapshot";
    static final String LAST_SNAPSHOT_RECORD = "last_snapshot_record";
    static final String SNAPSHOT_COMPLETED = "snapshot_completed";
    static final String LSN = "lsn";
    static final String LSN_PROCESSED = "lsn_proc";
    static final String LSN_COMMIT = "lsn_commit";
    static final String TX_ID = "txId";

    private DebeziumOffsets() {
    }

    public static SourcePosition position(Map<String, ?> offset) {
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) offset;
        return new SourcePosition(phase(offset), lsn(offset), map);
    }

    /**
     * An offset describes a running snapshot while it carries the snapshot flag and neither the
     * last-record nor the completed flag; the connector loads such an offset as "snapshot
     * interrupted" and starts it over.
     */
    public static Phase phase(Map<String, ?> offset) {
        Object snapshot = offset.get(SNAPSHOT);
        boolean running = snapshot != null && !"false".equalsIgnoreCase(snapshot.toString())
                && !isTrue(offset.get(LAST_SNAPSHOT_RECORD)) && !isTrue(offset.get(SNAPSHOT_COMPLETED));
        return running ? Phase.SNAPSHOT : Phase.STREAMING;
    }

    /** The last LSN completely processed, else the position the offset was taken at. */
    public static Lsn lsn(Map<String, ?> offset) {
        Object value = offset.get(LSN_PROCESSED);
        if (value == null) {
            value = offset.get(LSN);
        }
        return value instanceof Number n ? new Lsn(n.longValue()) : Lsn.ZERO;
    }

    private static boolean isTrue(Object value) {
        return value instanceof Boolean b ? b : value != null && "true".equalsIgnoreCase(value.toString());
    }
}
