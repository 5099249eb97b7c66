package dev.scry.backfill.transform;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.commons.jexl3.JexlBuilder;
import org.apache.commons.jexl3.JexlEngine;
import org.apache.commons.jexl3.JexlException;
import org.apache.commons.jexl3.JexlScript;
import org.apache.commons.jexl3.MapContext;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.model.TableSpec;

/**
 * Keeps only the rows of one table for which an expression over its columns is true (Apache
 * Commons JEXL: {@code kind == 'buy' || kind == 'sell'}, {@code tenant_id == 42},
 * {@code note != null && !archived}). Columns are typed: integers and numerics as numbers, booleans
 * as booleans, everything else as text. As in SQL, a comparison with a NULL column is not true.
 *
 * <p>An update whose new row passes is applied as a whole row (inserted if the old one did not
 * pass); one whose new row does not pass becomes a delete of its key (a no-op if the row was not
 * on the shadow). For a table without a key the old row decides, too.
 */
final class FilterRows implements Transform {

    private static final JexlEngine JEXL = new JexlBuilder().strict(true).silent(false).safe(false).cache(64).create();

    private final TableSelector table;
    private final String where;
    private final JexlScript script;
    private final Map<TableId, TableSpec> specs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<TableId, List<String>> keyLayouts = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean matched;

    FilterRows(String table, String where) {
        this.table = TableSelector.parse(table);
        this.where = where;
        try {
            this.script = JEXL.createScript(where);
        }
        catch (JexlException e) {
            throw new IllegalArgumentException("where '" + where + "' is not a valid expression: " + e.getMessage());
        }
    }

    /**
     * Evaluated here on the source's rows: JEXL's typed comparisons and its NULL handling (a
     * comparison that fails on a NULL drops the row) have no exact SQL translation.
     */
    @Override
    public SourceForm sourceForm() {
        return SourceForm.inProcess();
    }

    @Override
    public List<String> unmatched() {
        return matched ? List.of() : List.of("table " + table.text() + " is not one of the configured tables");
    }

    @Override
    public StepEffect effect(TableId id) {
        return StepEffect.filtering(table.matches(id));
    }

    /** The columns the expression reads. */
    Set<String> variables() {
        Set<String> out = new java.util.LinkedHashSet<>();
        for (List<String> v : script.getVariables()) {
            out.add(v.get(0));
        }
        return out;
    }

    @Override
    public TableSpec shape(TableSpec spec) {
        if (!table.matches(spec.id())) {
            return spec;
        }
        matched = true;
        for (String v : variables()) {
            if (spec.column(v) == null) {
                throw new IllegalArgumentException("filter-rows on " + spec.id() + ": where names column " + v
                        + ", which the table does not have");
            }
        }
        specs.put(spec.id(), spec);
        keyLayouts.put(spec.id(), List.copyOf(spec.primaryKey()));
        return spec;
    }

    @Override
    public ChangeEvent apply(ChangeEvent change) {
        TableSpec spec = specs.get(change.table());
        if (spec == null || change.op() == Op.TRUNCATE) {
            return change;
        }
        boolean keyless = !spec.hasPrimaryKey();
        return switch (change.op()) {
            case READ, INSERT -> passes(spec, change.after()) ? change : null;
            case DELETE -> !keyless || passes(spec, change.key()) ? change : null;
            case UPDATE -> keyless ? keylessUpdate(spec, change) : keyedUpdate(spec, change);
            default -> change;
        };
    }

    private ChangeEvent keyedUpdate(TableSpec spec, ChangeEvent change) {
        if (passes(spec, change.after())) {
            return change;
        }
        return new ChangeEvent(change.table(), Op.DELETE, keyOf(spec, change.after()), null);
    }

    private ChangeEvent keylessUpdate(TableSpec spec, ChangeEvent change) {
        RowImage full = fill(change.after(), change.key());
        boolean was = passes(spec, change.key());
        boolean is = passes(spec, full);
        if (was && is) {
            return change;
        }
        if (was) {
            return new ChangeEvent(change.table(), Op.DELETE, change.key(), null);
        }
        return is ? new ChangeEvent(change.table(), Op.INSERT, null, full) : null;
    }

    private boolean passes(TableSpec spec, RowImage row) {
        MapContext context = new MapContext();
        boolean sawNull = false;
        for (String v : variables()) {
            int i = row.columns().indexOf(v);
            if (i >= 0 && row.isUnchanged(i)) {
                throw new IllegalStateException("filter-rows on " + spec.id() + " reads column " + v + ", whose value this update did"
                        + " not carry (unchanged TOAST); set REPLICA IDENTITY FULL on the source table or filter on other columns");
            }
            Object value = i < 0 ? null : typed(spec.column(v), row.value(i));
            sawNull |= value == null;
            context.set(v, value);
        }
        try {
            Object result = script.execute(context);
            if (result instanceof Boolean b) {
                return b;
            }
            throw new IllegalStateException("filter-rows on " + spec.id() + ": where '" + where + "' gave " + result + ", not true or false");
        }
        catch (JexlException e) {
            if (sawNull) {
                return false; // a comparison with NULL is not true, as in SQL
            }
            throw new IllegalStateException("filter-rows on " + spec.id() + ": where '" + where + "' failed: " + e.getMessage(), e);
        }
    }

    private static Object typed(ColumnSpec column, String text) {
        if (text == null || column == null || column.array()) {
            return text;
        }
        switch (column.baseType()) {
            case "int2", "int4", "int8":
                return Long.valueOf(text);
            case "numeric", "float4", "float8":
                try {
                    return new BigDecimal(text);
                }
                catch (NumberFormatException e) {
                    return text;
                }
            case "bool":
                return text.startsWith("t");
            default:
                return text;
        }
    }

    private RowImage keyOf(TableSpec spec, RowImage row) {
        List<String> key = keyLayouts.get(spec.id());
        String[] values = new String[key.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = row.value(key.get(i));
        }
        return new RowImage(key, values, null);
    }

    private static RowImage fill(RowImage after, RowImage old) {
        if (!after.hasUnchanged()) {
            return after;
        }
        String[] values = new String[after.size()];
        List<String> columns = new ArrayList<>(after.columns());
        for (int i = 0; i < values.length; i++) {
            values[i] = after.isUnchanged(i) ? old.value(after.column(i)) : after.value(i);
        }
        return new RowImage(after.columns(), values, null, after.sourceTypes());
    }
}
