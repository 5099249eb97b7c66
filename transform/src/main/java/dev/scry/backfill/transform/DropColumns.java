package dev.scry.backfill.transform;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/** Columns that do not exist on the shadow. Where it is safe the publication does not even send them (see TransformChain). */
final class DropColumns implements Transform {

    private final List<ColumnSelector> selectors;
    private final Map<TableId, Set<String>> dropped = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<ColumnSelector> used = java.util.concurrent.ConcurrentHashMap.newKeySet();
    // One output layout per input layout, so that rows of one layout keep sharing their column list.
    private final Map<List<String>, Layout> layouts = java.util.Collections.synchronizedMap(new IdentityHashMap<>());

    private record Layout(List<String> columns, int[] keep, List<String> sourceTypes) {
    }

    DropColumns(List<ColumnSelector> selectors) {
        this.selectors = List.copyOf(selectors);
    }

    @Override
    public List<String> unmatched() {
        return ColumnSelector.unmatched(selectors, used);
    }

    /** The shadow's shape leaves the columns out; nothing to compute. */
    @Override
    public SourceForm sourceForm() {
        return SourceForm.sql((input, column, context) -> java.util.Optional.of(input));
    }

    @Override
    public StepEffect effect(TableId table) {
        return StepEffect.dropping(dropped.getOrDefault(table, Set.of()));
    }

    /** The shadow's shape already leaves the columns out: nothing for the source to compute. */
    @Override
    public boolean rewrite(TableId table, Map<String, String> expressions, SourceForm.SqlContext context) {
        return true;
    }

    @Override
    public TableSpec shape(TableSpec table) {
        List<ColumnSpec> kept = new ArrayList<>();
        Set<String> gone = new HashSet<>();
        for (ColumnSpec c : table.columns()) {
            boolean drop = false;
            for (ColumnSelector s : selectors) {
                if (s.matches(table, c)) {
                    used.add(s);
                    drop = true;
                }
            }
            if (drop && table.primaryKey().contains(c.name())) {
                throw new IllegalArgumentException("drop-columns cannot drop key column " + c.name() + " of " + table.id()
                        + ": the shadow could not tell its rows apart");
            }
            if (drop) {
                gone.add(c.name());
            }
            else {
                kept.add(c);
            }
        }
        if (kept.isEmpty()) {
            throw new IllegalArgumentException("drop-columns would drop every column of " + table.id());
        }
        if (!gone.isEmpty()) {
            dropped.put(table.id(), gone);
        }
        return new TableSpec(table.id(), kept, table.primaryKey());
    }

    @Override
    public ChangeEvent apply(ChangeEvent change) {
        Set<String> gone = dropped.get(change.table());
        if (gone == null) {
            return change;
        }
        return new ChangeEvent(change.table(), change.op(), strip(change.key(), gone), strip(change.after(), gone));
    }

    private RowImage strip(RowImage row, Set<String> gone) {
        if (row == null) {
            return null;
        }
        Layout layout = layouts.computeIfAbsent(row.columns(), cols -> {
            List<String> out = new ArrayList<>();
            List<String> types = row.sourceTypes() == null ? null : new ArrayList<>();
            List<Integer> keep = new ArrayList<>();
            for (int i = 0; i < cols.size(); i++) {
                if (!gone.contains(cols.get(i))) {
                    out.add(cols.get(i));
                    keep.add(i);
                    if (types != null) {
                        types.add(row.sourceTypes().get(i));
                    }
                }
            }
            return new Layout(List.copyOf(out), keep.stream().mapToInt(Integer::intValue).toArray(), types == null ? null : List.copyOf(types));
        });
        if (layout.keep().length == row.size()) {
            return row;
        }
        String[] values = new String[layout.keep().length];
        java.util.BitSet unchanged = null;
        for (int i = 0; i < values.length; i++) {
            values[i] = row.value(layout.keep()[i]);
            if (row.isUnchanged(layout.keep()[i])) {
                unchanged = unchanged == null ? new java.util.BitSet() : unchanged;
                unchanged.set(i);
            }
        }
        return new RowImage(layout.columns(), values, unchanged, layout.sourceTypes());
    }
}
