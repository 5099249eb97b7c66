package dev.scry.backfill.transform;

import java.util.Set;

/**
 * What one transform step does to one table, as the chain, the snapshot and the schema sync ask
 * it: instead of each of them asking which class the step is.
 *
 * @param dropped       the columns the step removes from the shadow's table
 * @param rewritten     the columns whose values the step rewrites one by one
 * @param keepsDistinct whether the rewrite keeps distinct values distinct (a keyed hash), so that
 *                      unique indexes over those columns still hold
 * @param filtersRows   whether the step leaves some of the table's rows out
 * @param anyValue      whether the step may change any value of the rows (a custom step over
 *                      whole rows), not only the columns it names
 */
public record StepEffect(Set<String> dropped, Set<String> rewritten, boolean keepsDistinct, boolean filtersRows, boolean anyValue) {

    /** The table is left alone. */
    public static final StepEffect NONE = new StepEffect(Set.of(), Set.of(), false, false, false);
    /** What a custom step that says nothing may do: change any value of any table. */
    public static final StepEffect ANY = new StepEffect(Set.of(), Set.of(), false, false, true);

    public StepEffect {
        dropped = Set.copyOf(dropped);
        rewritten = Set.copyOf(rewritten);
    }

    static StepEffect dropping(Set<String> columns) {
        return columns.isEmpty() ? NONE : new StepEffect(columns, Set.of(), false, false, false);
    }

    static StepEffect rewriting(Set<String> columns, boolean keepsDistinct) {
        return columns.isEmpty() ? NONE : new StepEffect(Set.of(), columns, keepsDistinct, false, false);
    }

    static StepEffect filtering(boolean matches) {
        return matches ? new StepEffect(Set.of(), Set.of(), false, true, false) : NONE;
    }

    /** Whether the step changes the table's shape, rows or values: only then do its rows need the chain. */
    public boolean touches() {
        return !dropped.isEmpty() || !rewritten.isEmpty() || filtersRows || anyValue;
    }
}
