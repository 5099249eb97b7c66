package dev.scry.backfill.sink.schema;

import java.util.List;

import dev.scry.backfill.model.TableId;

/**
 * What the shadow's schema covers: the configured tables (with their partitions and what they
 * depend on) and the schemas a pattern takes whole ({@code shop.*}), whose sequences, views,
 * materialized views, functions and procedures come too.
 */
public record SchemaScope(List<TableId> tables, List<String> wholeSchemas, ColumnShaping shaping, SchemaSettings settings) {

    public SchemaScope {
        tables = List.copyOf(tables);
        wholeSchemas = List.copyOf(wholeSchemas);
    }

    /** The same scope for other tables (a table joining a running pipeline brings its own objects only). */
    public SchemaScope only(List<TableId> tables) {
        return new SchemaScope(tables, List.of(), shaping, settings);
    }
}
