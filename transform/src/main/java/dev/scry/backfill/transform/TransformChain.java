package dev.scry.backfill.transform;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    public static final TransformChain NONE = new TransformChain(List.of(), List.of());

    private final List<Transform> steps;
    // Each step's entry as the configuration names it (transforms[2] (mask)), for messages.
    private final List<String> names;

    private TransformChain(List<Transform> steps, List<String> names) {
        this.steps = List.copyOf(steps);
        this.names = List.copyOf(names);
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
        Map<String, TransformType> types = TransformType.all();
        for (TransformConfig config : configs) {
            try {
                TransformType type = types.get(config.type());
                if (type == null) {
                    throw new IllegalArgumentException("unknown transform type '" + config.type() + "'");
                }
                steps.add(type.factory().create(config.settings(), tables));
            }
            catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(config + ": " + e.getMessage(), e);
            }
        }
        // Shaping each table is how each step learns what it does to it (and refuses a key column).
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
        }
        for (int i = 0; i < steps.size(); i++) {
            List<String> unmatched = steps.get(i).unmatched();
            if (!unmatched.isEmpty()) {
                throw new IllegalArgumentException(configs.get(i) + ": " + unmatched.get(0));
            }
        }
        return new TransformChain(steps, configs.stream().map(TransformConfig::toString).toList());
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
        Map<String, TransformType> types = TransformType.all();
        List<java.util.function.BiPredicate<TableId, String>> drops = new ArrayList<>();
        for (TransformConfig config : configs) {
            TransformType type = types.get(config.type());
            if (type != null) {
                try {
                    drops.add(type.drops().columns(config.settings()));
                }
                catch (IllegalArgumentException reportedByCreate) {
                    // create() names the entry and what is wrong with it.
                }
            }
        }
        return (table, column) -> drops.stream().anyMatch(d -> d.test(table, column));
    }

    /** Columns drop-columns removes from a table: candidates for the publication's column list. */
    public Set<String> droppedColumns(TableId table) {
        Set<String> out = new HashSet<>();
        steps.forEach(t -> out.addAll(t.effect(table).dropped()));
        return out;
    }

    /**
     * The columns of {@code table} that transforms rewrite ({@code hash}, {@code mask}...), each
     * with whether the last one that does keeps distinct values distinct (a hash).
     */
    public Map<String, Boolean> rewrittenColumns(TableId table) {
        Map<String, Boolean> out = new java.util.HashMap<>();
        for (Transform t : steps) {
            StepEffect effect = t.effect(table);
            effect.rewritten().forEach(column -> out.put(column, effect.keepsDistinct()));
        }
        return out;
    }

    /** Whether some step may change any value of the table's rows, not only the columns it names (a custom step over whole rows). */
    public boolean changesAnyValue(TableId table) {
        return steps.stream().anyMatch(t -> t.effect(table).anyValue());
    }

    /** Whether a filter-rows leaves some of the table's rows out. */
    public boolean filters(TableId table) {
        return steps.stream().anyMatch(t -> t.effect(table).filtersRows());
    }

    /** Whether some step changes the table's shape, rows or values: only then do its rows go through the chain. */
    public boolean touches(TableId table) {
        return steps.stream().anyMatch(t -> t.effect(table).touches());
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
            StepEffect effect = t.effect(table.id());
            if (!effect.touches()) {
                continue;
            }
            touched = true;
            if (!t.sourceForm().comparable()) {
                missing.add(names.get(i));
                continue;
            }
            changed.addAll(effect.rewritten());
            if (effect.anyValue()) {
                table.columns().forEach(col -> changed.add(col.name()));
            }
            // A row filter, or a custom step over whole rows, has no SQL form: only its own apply() says what it keeps.
            sql = sql && t.rewrite(table.id(), expressions, context);
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
}
