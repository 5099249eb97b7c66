package dev.scry.backfill.transform;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * The transform stage: the configured transforms in order, fitted to the pipeline's tables at
 * start-up (every named column must exist; key columns are protected), then applied to every
 * change, snapshot rows and streamed changes alike.
 */
public final class TransformChain {

    public static final Set<String> BUILT_IN = Set.of("drop-columns", "hash", "redact", "mask", "generalize", "filter-rows");
    public static final TransformChain NONE = new TransformChain(List.of(), List.of(), Map.of());

    private final List<Transform> steps;
    // Each step's entry as the configuration names it (transforms[2] (mask)), for messages.
    private final List<String> names;
    private final Map<TableId, TableSpec> shapes;

    private TransformChain(List<Transform> steps, List<String> names, Map<TableId, TableSpec> shapes) {
        this.steps = List.copyOf(steps);
        this.names = List.copyOf(names);
        this.shapes = Map.copyOf(shapes);
    }

    /** Custom transform types available through {@link TransformProvider}s on the classpath. */
    public static Map<String, TransformProvider> providers() {
        Map<String, TransformProvider> out = new LinkedHashMap<>();
        for (TransformProvider p : ServiceLoader.load(TransformProvider.class)) {
            out.put(p.type(), p);
        }
        return out;
    }

    /**
     * Builds the chain for these source tables. Throws {@link IllegalArgumentException} naming the
     * entry and what is wrong with it (a column that does not exist, a key column, a bad value).
     */
    public static TransformChain create(List<TransformConfig> configs, List<TableSpec> tables) {
        if (configs.isEmpty()) {
            return NONE;
        }
        List<Transform> steps = new ArrayList<>();
        Map<String, TransformProvider> providers = providers();
        for (TransformConfig config : configs) {
            try {
                steps.add(build(config, tables, providers));
            }
            catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(config + ": " + e.getMessage(), e);
            }
        }
        Map<TableId, TableSpec> shapes = new LinkedHashMap<>();
        for (TableSpec table : tables) {
            TableSpec shaped = table;
            for (int i = 0; i < steps.size(); i++) {
                try {
                    shaped = steps.get(i).shape(shaped);
                }
                catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(configs.get(i) + ": " + e.getMessage(), e);
                }
            }
            shapes.put(table.id(), shaped);
        }
        for (int i = 0; i < steps.size(); i++) {
            List<ColumnSelector> unmatched = unmatched(steps.get(i));
            if (!unmatched.isEmpty()) {
                throw new IllegalArgumentException(configs.get(i) + ": column " + unmatched.get(0).text() + " does not exist in the"
                        + " configured tables; check the name (schema.table.column, quoted as SQL quotes it)");
            }
            if (steps.get(i) instanceof FilterRows f && !f.matchedATable()) {
                throw new IllegalArgumentException(configs.get(i) + ": table " + f.table() + " is not one of the configured tables");
            }
        }
        return new TransformChain(steps, configs.stream().map(TransformConfig::toString).toList(), shapes);
    }

    private static List<ColumnSelector> unmatched(Transform t) {
        if (t instanceof ColumnTransform c) {
            return c.unmatchedExactSelectors();
        }
        if (t instanceof DropColumns d) {
            return d.unmatchedExactSelectors();
        }
        return List.of();
    }

    private static Transform build(TransformConfig c, List<TableSpec> tables, Map<String, TransformProvider> providers) {
        Map<String, Object> s = c.settings();
        return switch (c.type()) {
            case "drop-columns" -> new DropColumns(columns(s));
            case "hash" -> new ValueTransforms.Hash(columns(s), string(s, "key"));
            case "redact" -> new ValueTransforms.Redact(columns(s), s.get("value") == null ? null : s.get("value").toString());
            case "mask" -> new ValueTransforms.Mask(columns(s), (int) number(s, "keep-last").longValue());
            case "generalize" -> new ValueTransforms.Generalize(columns(s), s.containsKey("bucket") ? number(s, "bucket") : null,
                    s.containsKey("truncate") ? truncate(s) : null);
            case "filter-rows" -> new FilterRows(string(s, "table"), string(s, "where"));
            default -> {
                TransformProvider p = providers.get(c.type());
                if (p == null) {
                    throw new IllegalArgumentException("unknown transform type '" + c.type() + "'");
                }
                yield p.create(s, tables);
            }
        };
    }

    /** The shadow's shape of a table after every transform. */
    public TableSpec shape(TableSpec table) {
        TableSpec shaped = table;
        for (Transform t : steps) {
            shaped = t.shape(shaped);
        }
        return shaped;
    }

    /**
     * The columns of a source table that reach the shadow with their source type: the types the
     * shadow must have for it (a column dropped, or hashed into text, needs none).
     */
    public Set<String> columnsKeepingType(TableSpec table) {
        TableSpec shaped = shape(table);
        Set<String> out = new java.util.LinkedHashSet<>();
        for (dev.scry.backfill.model.ColumnSpec column : table.columns()) {
            dev.scry.backfill.model.ColumnSpec kept = shaped.column(column.name());
            if (kept != null && kept.type().equals(column.type())) {
                out.add(column.name());
            }
        }
        return out;
    }

    public boolean isEmpty() {
        return steps.isEmpty();
    }

    /** The change after every transform, or null when a filter left it out. */
    public ChangeEvent apply(ChangeEvent change) {
        if (change.op() == dev.scry.backfill.model.Op.SCHEMA) {
            // A schema change carries no row to transform.
            return change;
        }
        ChangeEvent out = change;
        for (Transform t : steps) {
            out = t.apply(out);
            if (out == null) {
                return null;
            }
        }
        return out;
    }

    public ChangeBatch apply(ChangeBatch batch) {
        if (steps.isEmpty() || batch.events().isEmpty()) {
            return batch;
        }
        List<ChangeEvent> out = new ArrayList<>(batch.events().size());
        for (ChangeEvent e : batch.events()) {
            ChangeEvent t = apply(e);
            if (t != null) {
                out.add(t);
            }
        }
        return new ChangeBatch(out, batch.end(), batch.transactions(), batch.partialTransaction(), batch.markers(), batch.controls());
    }

    /**
     * Whether the drop-columns entries of {@code configs} remove a column, known before any table
     * is read: such a column never reaches the shadow, so the checks of what the shadow must hold
     * leave it out. Entries that do not parse are reported by {@link #create}.
     */
    public static java.util.function.BiPredicate<TableId, String> dropsColumn(List<TransformConfig> configs) {
        List<ColumnSelector> selectors = new ArrayList<>();
        for (TransformConfig config : configs) {
            if (config.type().equals("drop-columns")) {
                try {
                    selectors.addAll(columns(config.settings()));
                }
                catch (IllegalArgumentException reportedByCreate) {
                    // create() names the entry and what is wrong with it.
                }
            }
        }
        return (table, column) -> selectors.stream().anyMatch(s -> s.matches(table, column));
    }

    /** Columns drop-columns removes from a table: candidates for the publication's column list. */
    public Set<String> droppedColumns(TableId table) {
        Set<String> out = new HashSet<>();
        for (Transform t : steps) {
            if (t instanceof DropColumns d) {
                out.addAll(d.dropped(table));
            }
        }
        return out;
    }

    /**
     * The columns of {@code table} that column transforms rewrite, each with the type of the last
     * one that does ({@code hash}, {@code mask}...).
     */
    public Map<String, String> rewrittenColumns(TableId table) {
        Map<String, String> out = new java.util.HashMap<>();
        for (Transform t : steps) {
            if (t instanceof ColumnTransform c) {
                c.targets(table).forEach(column -> out.put(column, c.name()));
            }
        }
        return out;
    }

    /** Whether some step is a custom transform that is not a column transform: it may change any value. */
    public boolean hasOpaqueSteps() {
        return steps.stream().anyMatch(t -> !(t instanceof ColumnTransform) && !(t instanceof DropColumns) && !(t instanceof FilterRows));
    }

    /** Tables a filter-rows applies to. */
    public Set<TableId> filteredTables() {
        Set<TableId> out = new HashSet<>();
        for (Transform t : steps) {
            if (t instanceof FilterRows f) {
                for (TableId id : shapes.keySet()) {
                    if (dev.scry.backfill.model.TableSelector.parse(f.table()).matches(id)) {
                        out.add(id);
                    }
                }
            }
        }
        return out;
    }

    /** Tables any transform changes, shape or values. */
    public Set<TableId> transformedTables() {
        Set<TableId> out = new HashSet<>();
        for (TableId id : shapes.keySet()) {
            if (steps.stream().anyMatch(t -> touches(t, id))) {
                out.add(id);
            }
        }
        return out;
    }

    /** Whether some step changes the table's shape, rows or values: only then do its rows go through the chain. */
    public boolean touches(TableId table) {
        return steps.stream().anyMatch(t -> touches(t, table));
    }

    /** Whether a step changes a table's shape, rows or values (a custom step that is no column transform: any table). */
    private boolean touches(Transform t, TableId table) {
        if (t instanceof ColumnTransform c) {
            return c.touched().contains(table);
        }
        if (t instanceof DropColumns d) {
            return !d.dropped(table).isEmpty();
        }
        if (t instanceof FilterRows f) {
            return dev.scry.backfill.model.TableSelector.parse(f.table()).matches(table);
        }
        return true;
    }

    /**
     * How verify computes on the source what the shadow holds of {@code table} (a source table
     * this chain was built for): each touching step's source-side form, in order. In SQL where
     * every step has an SQL form the source can compute; in this process where some step has
     * only that; not comparable where some step has none.
     */
    public TableForm sourceForm(TableSpec table, SourceForm.SqlContext context) {
        Map<String, String> expressions = new LinkedHashMap<>();
        table.columns().forEach(c -> expressions.put(c.name(), dev.scry.backfill.model.Identifiers.quote(c.name())));
        Set<String> changed = new java.util.LinkedHashSet<>();
        List<String> missing = new ArrayList<>();
        boolean touched = false;
        boolean sql = true;
        for (int i = 0; i < steps.size(); i++) {
            Transform t = steps.get(i);
            if (!touches(t, table.id())) {
                continue;
            }
            touched = true;
            if (!t.sourceForm().comparable()) {
                missing.add(names.get(i));
                continue;
            }
            if (t instanceof ColumnTransform c) {
                changed.addAll(c.targets(table.id()));
                sql = sql && c.rewrite(table.id(), expressions, context);
            }
            else if (!(t instanceof DropColumns)) {
                // A row filter, or a custom step over whole rows: only its own apply() says what it keeps.
                sql = false;
                if (!(t instanceof FilterRows)) {
                    table.columns().forEach(col -> changed.add(col.name()));
                }
            }
        }
        if (!missing.isEmpty()) {
            return new TableForm(TableForm.Kind.NOT_COMPARABLE, List.of(), changed, missing);
        }
        if (!touched) {
            return new TableForm(TableForm.Kind.UNTRANSFORMED, List.of(), changed, List.of());
        }
        if (!sql) {
            return new TableForm(TableForm.Kind.IN_PROCESS, List.of(), changed, List.of());
        }
        List<String> out = new ArrayList<>();
        for (dev.scry.backfill.model.ColumnSpec c : shape(table).columns()) {
            String e = expressions.get(c.name());
            out.add(changed.contains(c.name()) ? "(" + e + ")::" + c.type() : e);
        }
        return new TableForm(TableForm.Kind.SQL, out, changed, List.of());
    }

    private static List<ColumnSelector> columns(Map<String, Object> s) {
        Object v = s.get("columns");
        if (!(v instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("columns must be a non-empty list of schema.table.column");
        }
        List<ColumnSelector> out = new ArrayList<>();
        for (Object o : list) {
            out.add(ColumnSelector.parse(String.valueOf(o)));
        }
        return out;
    }

    private static String string(Map<String, Object> s, String key) {
        Object v = s.get(key);
        if (v == null || v.toString().isEmpty()) {
            throw new IllegalArgumentException(key + " is required");
        }
        return v.toString();
    }

    private static BigDecimal number(Map<String, Object> s, String key) {
        Object v = s.get(key);
        try {
            BigDecimal n = new BigDecimal(String.valueOf(v));
            if (n.signum() < 0 || (key.equals("bucket") && n.signum() == 0)) {
                throw new IllegalArgumentException(key + " must be " + (key.equals("bucket") ? "> 0" : ">= 0") + ", got " + v);
            }
            return n;
        }
        catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got " + v);
        }
    }

    private static String truncate(Map<String, Object> s) {
        String unit = String.valueOf(s.get("truncate"));
        if (!Set.of("hour", "day", "month", "year").contains(unit)) {
            throw new IllegalArgumentException("truncate must be hour, day, month or year, got '" + unit + "'");
        }
        return unit;
    }
}
