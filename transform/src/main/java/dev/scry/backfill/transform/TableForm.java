package dev.scry.backfill.transform;

import java.util.List;
import java.util.Set;

/**
 * How {@code verify} computes, on the source side, what the shadow should hold of one table: the
 * transforms' source-side forms ({@link SourceForm}) composed in the chain's order.
 *
 * @param kind          how the source side is computed
 * @param expressions   for {@link Kind#SQL}: one SQL expression per shadow column, in the shadow's
 *                      column order, over the source table's columns (a transformed column's cast
 *                      to its shadow type, so that both sides print the same text)
 * @param changed       the columns whose values a transform changes (for {@link Kind#IN_PROCESS}:
 *                      the ones whose text the shadow's type may print differently)
 * @param notComparable for {@link Kind#NOT_COMPARABLE}: the entries without a source-side form
 */
public record TableForm(Kind kind, List<String> expressions, Set<String> changed,
                        List<String> notComparable) {

    public enum Kind {
        /** No transform touches the table: both sides read the same columns. */
        UNTRANSFORMED,
        /** The source computes the transformed rows in SQL. */
        SQL,
        /** The source's rows are transformed in this process, by the pipeline's own transforms. */
        IN_PROCESS,
        /** A transform touching the table has no source-side form. */
        NOT_COMPARABLE
    }

    public TableForm {
        expressions = List.copyOf(expressions);
        changed = Set.copyOf(changed);
        notComparable = List.copyOf(notComparable);
    }
}
