package dev.scry.backfill.model;

/**
 * The one place that turns names into SQL identifiers. Every schema, table, column, slot and
 * publication name that reaches a statement goes through {@link #quote(String)}.
 */
public final class Identifiers {

    private Identifiers() {
    }

    /** Always-quoted SQL identifier: {@code Order "Lines"} becomes {@code "Order ""Lines"""}. */
    public static String quote(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("an SQL identifier cannot be empty");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an SQL identifier cannot contain a NUL character");
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /** The name as an operator reads and writes it: plain where SQL needs no quotes, quoted otherwise. */
    public static String readable(String name) {
        return name.matches("[a-z_][a-z0-9_$]*") ? name : quote(name);
    }

    /** A string literal for the rare statement that cannot take a bind parameter (DDL, replication commands). */
    public static String literal(String value) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an SQL literal cannot contain a NUL character");
        }
        return "'" + value.replace("'", "''") + "'";
    }
}
