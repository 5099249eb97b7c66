package dev.scry.backfill.model;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of a table the pipeline copies: its columns in catalog order and its primary key.
 * The shadow table is created from it, and the sink builds its statements from it.
 */
public record TableSpec(TableId id, List<ColumnSpec> columns, List<String> primaryKey) {

    public TableSpec {
        columns = List.copyOf(columns);
        primaryKey = List.copyOf(primaryKey);
        if (columns.isEmpty()) {
            throw new IllegalArgumentException("table " + id + " has no columns");
        }
        Map<String, ColumnSpec> byName = new HashMap<>();
        for (ColumnSpec c : columns) {
            if (byName.put(c.name(), c) != null) {
                throw new IllegalArgumentException("table " + id + " lists column " + c.name() + " twice");
            }
        }
        for (String k : primaryKey) {
            if (!byName.containsKey(k)) {
                throw new IllegalArgumentException("table " + id + ": primary key column " + k + " is not a column");
            }
        }
    }

    public ColumnSpec column(String name) {
        for (ColumnSpec c : columns) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }

    public int columnIndex(String name) {
        for (int i = 0; i < columns.size(); i++) {
            if (columns.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    public boolean hasPrimaryKey() {
        return !primaryKey.isEmpty();
    }
}
