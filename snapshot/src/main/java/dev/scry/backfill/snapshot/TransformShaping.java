package dev.scry.backfill.snapshot;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.schema.ColumnShaping;
import dev.scry.backfill.transform.TransformChain;

/** What the configured transforms do to the tables' columns, as the schema sync asks it. */
public final class TransformShaping implements ColumnShaping {

    private final TransformChain chain;
    private final Map<TableId, TableSpec> sources = new ConcurrentHashMap<>();
    private final Map<TableId, TableSpec> shapes = new ConcurrentHashMap<>();

    public TransformShaping(TransformChain chain, Collection<TableSpec> tables) {
        this.chain = chain;
        tables.forEach(this::add);
    }

    /** Takes in a table that joined the pipeline. */
    public TransformShaping add(TableSpec table) {
        sources.put(table.id(), table);
        shapes.put(table.id(), chain.shape(table));
        return this;
    }

    @Override
    public Effect effect(TableId table, String column) {
        if (table == null) {
            return Effect.KEPT;
        }
        if (chain.droppedColumns(table).contains(column)) {
            return Effect.DROPPED;
        }
        Boolean keepsDistinct = chain.rewrittenColumns(table).get(column);
        if (keepsDistinct != null) {
            return keepsDistinct ? Effect.HASHED : Effect.CHANGED;
        }
        TableSpec source = sources.get(table);
        if (chain.changesAnyValue(table) && source != null && !source.primaryKey().contains(column)) {
            return Effect.CHANGED;
        }
        return Effect.KEPT;
    }

    @Override
    public ColumnSpec shaped(TableId table, String column) {
        ColumnSpec before = column(sources, table, column);
        ColumnSpec after = column(shapes, table, column);
        if (before == null || after == null) {
            return null;
        }
        return before.type().equals(after.type()) && before.notNull() == after.notNull() ? null : after;
    }

    @Override
    public boolean retyped(TableId table, String column) {
        ColumnSpec before = column(sources, table, column);
        ColumnSpec after = column(shapes, table, column);
        return before != null && after != null && !before.type().equals(after.type());
    }

    @Override
    public boolean filtered(TableId table) {
        return table != null && chain.filters(table);
    }

    private static ColumnSpec column(Map<TableId, TableSpec> specs, TableId table, String column) {
        TableSpec spec = table == null ? null : specs.get(table);
        return spec == null ? null : spec.column(column);
    }
}
