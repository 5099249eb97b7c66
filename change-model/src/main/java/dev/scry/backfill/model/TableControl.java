package dev.scry.backfill.model;

import java.util.Map;
import java.util.Objects;

/**
 * A change to how the pipeline treats one table, made at a position of the stream: the sink
 * applies it after the changes of the batch it arrives in, in that batch's transaction, so that
 * it is committed exactly once together with the checkpoint (a copy's progress, a pause, a
 * resume, a removal). The reader emits controls where this process's watermarks come out of the
 * stream (see the cdc-stream module's {@code Watermarks}).
 *
 * @param id      the watermark it came from, so that whoever wrote it learns once it is committed
 * @param table   the table
 * @param action  what changes
 * @param details what the sink records with it (a copy's cursor and rows, an estimate); JSON values
 */
public record TableControl(String id, TableId table, Action action, Map<String, Object> details) {

    public enum Action {
        /** A copy of the table by chunks began (details: mode, estimate, continued; with empty, the shadow table is emptied here). */
        COPY_STARTED,
        /** A chunk's rows are in this batch (details: cursor, rows). */
        CHUNK_COPIED,
        /** The copy is complete; the table streams. */
        COPY_FINISHED,
        /** From here on the table's changes are held back on the shadow. */
        PAUSED,
        /** The held changes are applied here, in order, and the table streams again. */
        RESUMED,
        /** The table left the publication: no more changes of it follow. */
        REMOVED
    }

    public TableControl {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(action, "action");
        details = details == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
    }
}
