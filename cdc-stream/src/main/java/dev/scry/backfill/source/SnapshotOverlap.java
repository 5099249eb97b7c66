package dev.scry.backfill.source;

import java.util.List;
import java.util.Map;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;

/**
 * Rows of a continued snapshot that are newer than the position streaming starts from: parts
 * copied again after an interruption, under a snapshot taken later. A change committed before a
 * part's copy position, to a row in that part, is already in the part's rows and is skipped; every
 * other change is applied. Parts are whole tables or ranges of the first key column (an integer).
 *
 * @param until  the latest copy position: from there on nothing is skipped
 * @param tables the newer parts per table
 */
public record SnapshotOverlap(Lsn until, Map<TableId, List<Part>> tables) {

    /** Rows whose first key column is in [{@code from}, {@code to}) (null: open), copied at {@code copiedAt}. */
    public record Part(Long from, Long to, Lsn copiedAt) {

        boolean whole() {
            return from == null && to == null;
        }

        boolean contains(long key) {
            return (from == null || key >= from) && (to == null || key < to);
        }
    }

    public SnapshotOverlap {
        tables = Map.copyOf(tables);
    }

    /** Whether a change to {@code table} committed at {@code commitLsn}, to the row whose first key column reads {@code key}, is already copied. */
    boolean covers(TableId table, Lsn commitLsn, String key) {
        List<Part> parts = tables.get(table);
        if (parts == null) {
            return false;
        }
        for (Part p : parts) {
            if (commitLsn.compareTo(p.copiedAt()) < 0 && (p.whole() || (key != null && p.contains(Long.parseLong(key))))) {
                return true;
            }
        }
        return false;
    }

    /**
     * For a TRUNCATE committed at {@code commitLsn}: true when the whole table was copied after it
     * (skip it), false when no part of it was (apply it). A table copied partly after it cannot be
     * emptied exactly, neither by applying nor by skipping the TRUNCATE: that stops the pipeline.
     */
    boolean coversTruncate(TableId table, Lsn commitLsn) {
        List<Part> parts = tables.get(table);
        if (parts == null) {
            return false;
        }
        boolean any = false;
        boolean whole = false;
        for (Part p : parts) {
            if (commitLsn.compareTo(p.copiedAt()) < 0) {
                any = true;
                whole |= p.whole();
            }
        }
        if (any && !whole) {
            throw new dev.scry.backfill.error.PipelineFailure("table " + table + " was truncated on the source while its interrupted"
                    + " snapshot was being continued, after some of its parts were copied again: the shadow cannot tell which of its"
                    + " rows the TRUNCATE removed. Take the snapshot again: `teardown --drop-metadata`, empty the shadow tables,"
                    + " `snapshot`");
        }
        return whole;
    }
}
