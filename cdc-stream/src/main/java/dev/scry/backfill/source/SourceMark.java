package dev.scry.backfill.source;

import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.Lsn;

/**
 * A point in the source's WAL before which every transaction committed so far lies (see
 * {@link SourceAdmin#mark}): a marker message the stream carries, or, on a standby, a position.
 *
 * @param message the marker message's content, or null for a position alone
 * @param lsn     where the mark is in the WAL
 */
public record SourceMark(String message, Lsn lsn) {

    /** Whether the shadow holds every change before the mark once {@code batch} has committed. */
    public boolean passedBy(ChangeBatch batch) {
        return message != null ? batch.markers().contains(message) : batch.end().lsn().compareTo(lsn) >= 0;
    }

    /** Whether the mark is a position alone, which the stream passes only as its position moves. */
    public boolean positionOnly() {
        return message == null;
    }
}
