package dev.scry.backfill.model;

import java.util.Objects;

/**
 * One change to one table, in source order.
 *
 * @param table  the table it changes
 * @param op     what it does
 * @param key    for DELETE, the key values of the deleted row; for an UPDATE or DELETE on a table
 *               without a key (REPLICA IDENTITY FULL), the whole old row; otherwise null
 * @param after  for READ, INSERT and UPDATE, the row as it now is; otherwise null
 * @param schema for SCHEMA, the schema change; otherwise null
 */
public record ChangeEvent(TableId table, Op op, RowImage key, RowImage after, SchemaChange schema) {

    public ChangeEvent(TableId table, Op op, RowImage key, RowImage after) {
        this(table, op, key, after, null);
    }

    public ChangeEvent {
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(op, "op");
        if (op.writesRow() && after == null) {
            throw new IllegalArgumentException(op + " on " + table + " needs an after-image");
        }
        if (op == Op.DELETE && key == null) {
            throw new IllegalArgumentException("DELETE on " + table + " needs the key of the deleted row");
        }
        if (op == Op.TRUNCATE && (key != null || after != null)) {
            throw new IllegalArgumentException("TRUNCATE on " + table + " carries no row");
        }
        if ((op == Op.SCHEMA) != (schema != null)) {
            throw new IllegalArgumentException("only a SCHEMA event carries a schema change, and it must");
        }
    }

    /** A schema change at its place among the rows. */
    public static ChangeEvent schema(SchemaChange change) {
        return new ChangeEvent(SchemaChange.TABLE, Op.SCHEMA, null, null, change);
    }

    public static ChangeEvent truncate(TableId table) {
        return new ChangeEvent(table, Op.TRUNCATE, null, null);
    }

    public long approximateBytes() {
        return 16 + (schema == null ? 0 : schema.content().length()) + (key == null ? 0 : key.approximateBytes()) + (after == null ? 0 : after.approximateBytes());
    }
}
