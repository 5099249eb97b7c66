package dev.scry.backfill.transform;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.TableSpec;

/**
 * One step of the transform stage. Applies identically to snapshot rows and streamed changes
 * (both are {@link ChangeEvent}s whose values are PostgreSQL text).
 */
public interface Transform {

    /** The shape the shadow table gets after this step (columns dropped, types changed). */
    TableSpec shape(TableSpec table);

    /**
     * The change after this step, or null to leave it out. Only called for changes to tables
     * whose shape this step has seen.
     */
    ChangeEvent apply(ChangeEvent change);

    /**
     * How {@code verify} computes this step from the source's rows (see {@link SourceForm}). A
     * step without one makes the tables it touches "not comparable"; custom transforms declare
     * theirs by overriding this.
     */
    default SourceForm sourceForm() {
        return SourceForm.none();
    }
}
