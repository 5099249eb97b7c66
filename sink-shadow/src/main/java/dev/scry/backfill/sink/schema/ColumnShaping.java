package dev.scry.backfill.sink.schema;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableId;

/**
 * What the transforms do to the configured tables' columns, as the schema sync needs to know it:
 * a column's shadow type follows its transform, and an object over a column the transforms drop
 * or change may not hold on the shadow (see {@link SkipRules}). Tables are the configured ones;
 * their partitions share their columns' fate.
 */
public interface ColumnShaping {

    /** What happens to a column's values on the way to the shadow. */
    enum Effect {
        /** Arrives as it is. */
        KEPT,
        /** Replaced by a keyed hash: deterministic, distinct values stay distinct, type text. */
        HASHED,
        /** Replaced or coarsened (redact, mask, generalize, custom transforms): values may collide. */
        CHANGED,
        /** Never reaches the shadow. */
        DROPPED
    }

    Effect effect(TableId table, String column);

    /**
     * The column as the shadow holds it where a transform changes its declared type or its
     * nullability ({@code text} for a hash), else null.
     */
    ColumnSpec shaped(TableId table, String column);

    /** Whether a transform changes the column's declared type. */
    boolean retyped(TableId table, String column);

    /** Whether filter-rows leaves some of the table's rows out. */
    boolean filtered(TableId table);

    /** No transforms. */
    ColumnShaping NONE = new ColumnShaping() {
        @Override
        public Effect effect(TableId table, String column) {
            return Effect.KEPT;
        }

        @Override
        public ColumnSpec shaped(TableId table, String column) {
            return null;
        }

        @Override
        public boolean retyped(TableId table, String column) {
            return false;
        }

        @Override
        public boolean filtered(TableId table) {
            return false;
        }
    };
}
