package dev.scry.backfill.transform;

import java.util.List;
import java.util.Map;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.TableId;
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

    /**
     * What this step does to a table whose shape it has seen. A custom step that does not say may
     * change any value of any table ({@link StepEffect#ANY}); {@link ColumnTransform}s say which
     * columns they rewrite.
     */
    default StepEffect effect(TableId table) {
        return StepEffect.ANY;
    }

    /**
     * What the step names that no shaped table has (a misspelt column or table), each as the fix
     * to make; checked once every configured table has been shaped.
     */
    default List<String> unmatched() {
        return List.of();
    }

    /**
     * Replaces, in {@code expressions} (one SQL expression per column of {@code table}), the
     * columns this step changes with its SQL form; false when it has none or the source cannot
     * compute it (then verify runs the step in this process).
     */
    default boolean rewrite(TableId table, Map<String, String> expressions, SourceForm.SqlContext context) {
        return false;
    }
}
