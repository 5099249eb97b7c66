package dev.scry.backfill.sink.schema;

import java.util.List;
import java.util.Objects;
import java.util.Set;

import dev.scry.backfill.model.TableId;

/**
 * One object of the shadow's schema as the source's catalog defines it, with the statements that
 * create it (built by PostgreSQL's own catalog functions) and what it needs first.
 *
 * @param key        what it is, the same on source and shadow ({@code INDEX shop.orders_placed_idx}): the
 *                   identity a shadow object is compared by
 * @param kind       its kind
 * @param section    pre-data (before the rows) or post-data (after)
 * @param table      the table it is on, or null (schemas, functions, sequences, views)
 * @param statements the DDL, run in order in one transaction
 * @param dependsOn  keys of objects it needs created first
 * @param needsRows  for post-data: the configured tables whose rows must be in first (as the
 *                   snapshot copies them: a partition's rows come with its partitioned table)
 * @param keyColumns for a primary key or unique constraint over plain columns, its columns: what
 *                   the sink may key rows by while the object waits for the rows
 * @param target     the object as COMMENT ON and DROP name it ({@code INDEX shop.orders_placed_idx},
 *                   {@code CONSTRAINT c ON shop.orders}), or null
 */
public record SchemaObject(String key, ObjectKind kind, ObjectKind.Section section, TableId table, List<String> statements,
                           Set<String> dependsOn, Set<TableId> needsRows, List<String> keyColumns, String target) {

    public SchemaObject(String key, ObjectKind kind, ObjectKind.Section section, TableId table, List<String> statements,
                        Set<String> dependsOn, Set<TableId> needsRows, List<String> keyColumns) {
        this(key, kind, section, table, statements, dependsOn, needsRows, keyColumns, null);
    }

    public SchemaObject {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(section, "section");
        statements = List.copyOf(statements);
        dependsOn = Set.copyOf(dependsOn);
        needsRows = Set.copyOf(needsRows);
        keyColumns = List.copyOf(keyColumns);
        if (statements.isEmpty()) {
            throw new IllegalArgumentException(key + " has no statements");
        }
    }

    /** What is compared with an object of the same key on the shadow. */
    public String definition() {
        return String.join(";\n", statements);
    }

    @Override
    public String toString() {
        return key;
    }
}
