package dev.scry.backfill.checkpoint;

/** Rows a batch (or a whole run) applied to one shadow table, by kind. */
public record TableCounts(long snapshotRows, long inserts, long updates, long deletes, long truncates) {

    public static final TableCounts ZERO = new TableCounts(0, 0, 0, 0, 0);

    public TableCounts plus(TableCounts o) {
        return new TableCounts(snapshotRows + o.snapshotRows, inserts + o.inserts, updates + o.updates,
                deletes + o.deletes, truncates + o.truncates);
    }

    public long changes() {
        return inserts + updates + deletes + truncates;
    }
}
