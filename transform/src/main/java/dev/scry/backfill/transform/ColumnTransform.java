package dev.scry.backfill.transform;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * A transform that rewrites the values of selected columns one by one (hash, redact, mask,
 * generalize, custom ones). Old and key images are rewritten the same way, so that a key or a
 * keyless table's old row still finds the transformed row on the shadow. An unchanged TOASTed
 * value stays unchanged: the shadow already holds its transformed value.
 */
public abstract class ColumnTransform implements Transform {

    private final String name;
    private final List<ColumnSelector> selectors;
    private final Map<TableId, Set<String>> targets = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<TableId, Map<String, ColumnSpec>> inputs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<ColumnSelector> used = java.util.concurrent.ConcurrentHashMap.newKeySet();

    protected ColumnTransform(String name, List<ColumnSelector> selectors) {
        this.name = name;
        this.selectors = List.copyOf(selectors);
    }

    /** The value's replacement; {@code value} is never null unless {@link #transformsNull()}. */
    protected abstract String transform(String value, ColumnSpec column);

    /** Whether NULL is transformed too (redact to a value) or stays NULL (the default). */
    protected boolean transformsNull() {
        return false;
    }

    /** The column as the shadow holds it after this transform (type text for a hash, for example). */
    protected ColumnSpec output(ColumnSpec column) {
        return column;
    }

    /** Whether the transform may apply to key columns: only if distinct values stay distinct. */
    protected boolean keepsKeysDistinct() {
        return false;
    }

    @Override
    public List<String> unmatched() {
        return ColumnSelector.unmatched(selectors, used);
    }

    /** The columns of {@code table} this transform rewrites (known once it has shaped the table). */
    private Set<String> targets(TableId table) {
        return targets.getOrDefault(table, Set.of());
    }

    @Override
    public StepEffect effect(TableId table) {
        return StepEffect.rewriting(targets(table), keepsKeysDistinct());
    }

    /** Each column this step changes, through its SQL form. */
    @Override
    public boolean rewrite(TableId table, Map<String, String> expressions, SourceForm.SqlContext context) {
        java.util.Optional<SourceForm.ColumnSql> sql = sourceForm().columnSql();
        if (sql.isEmpty()) {
            return false;
        }
        for (String column : targets(table)) {
            java.util.Optional<String> rewritten = sql.get().expression(expressions.get(column), inputs.get(table).get(column), context);
            if (rewritten.isEmpty()) {
                return false;
            }
            expressions.put(column, rewritten.get());
        }
        return true;
    }

    @Override
    public TableSpec shape(TableSpec table) {
        Set<String> chosen = new HashSet<>();
        Map<String, ColumnSpec> byName = new HashMap<>();
        List<ColumnSpec> columns = new ArrayList<>();
        for (ColumnSpec c : table.columns()) {
            boolean selected = false;
            for (ColumnSelector s : selectors) {
                if (s.matches(table, c)) {
                    used.add(s);
                    selected = true;
                }
            }
            if (selected) {
                if (table.primaryKey().contains(c.name()) && !keepsKeysDistinct()) {
                    throw new IllegalArgumentException(name + " cannot apply to key column " + c.name() + " of " + table.id()
                            + ": rows with different keys could collide on the shadow (hash keeps keys distinct)");
                }
                chosen.add(c.name());
                byName.put(c.name(), c);
                columns.add(output(c));
            }
            else {
                columns.add(c);
            }
        }
        if (!chosen.isEmpty()) {
            targets.put(table.id(), chosen);
            inputs.put(table.id(), byName);
        }
        return new TableSpec(table.id(), columns, table.primaryKey());
    }

    @Override
    public ChangeEvent apply(ChangeEvent change) {
        Set<String> chosen = targets.get(change.table());
        if (chosen == null) {
            return change;
        }
        Map<String, ColumnSpec> specs = inputs.get(change.table());
        return new ChangeEvent(change.table(), change.op(), rewrite(change.key(), chosen, specs), rewrite(change.after(), chosen, specs));
    }

    private RowImage rewrite(RowImage row, Set<String> chosen, Map<String, ColumnSpec> specs) {
        if (row == null) {
            return null;
        }
        String[] values = null;
        for (int i = 0; i < row.size(); i++) {
            String column = row.column(i);
            if (!chosen.contains(column) || row.isUnchanged(i) || (row.value(i) == null && !transformsNull())) {
                continue;
            }
            if (values == null) {
                values = new String[row.size()];
                for (int j = 0; j < values.length; j++) {
                    values[j] = row.value(j);
                }
            }
            values[i] = transform(row.value(i), specs.get(column));
        }
        return values == null ? row : new RowImage(row.columns(), values, unchangedOf(row), row.sourceTypes());
    }

    static java.util.BitSet unchangedOf(RowImage row) {
        if (!row.hasUnchanged()) {
            return null;
        }
        java.util.BitSet b = new java.util.BitSet(row.size());
        for (int i = 0; i < row.size(); i++) {
            if (row.isUnchanged(i)) {
                b.set(i);
            }
        }
        return b;
    }

    /** A text column as the shadow holds a transform's text output. */
    protected static ColumnSpec asText(ColumnSpec c) {
        return new ColumnSpec(c.name(), "text", c.notNull(), "text", false);
    }
}
