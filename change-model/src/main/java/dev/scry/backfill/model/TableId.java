package dev.scry.backfill.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A schema-qualified table name, as the catalog stores it (case and spaces preserved).
 * {@link #parse(String)} reads the form SQL writes ({@code public.orders},
 * {@code "Sales Dept"."Order ""Lines"""}); {@link #quoted()} writes it back for statements.
 */
public record TableId(String schema, String name) implements Comparable<TableId> {

    public TableId {
        if (schema == null || schema.isEmpty()) {
            throw new IllegalArgumentException("table schema cannot be empty");
        }
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("table name cannot be empty");
        }
    }

    /**
     * Parses a schema-qualified name the way PostgreSQL reads one: unquoted parts fold to lower
     * case, quoted parts keep their case and may contain dots, spaces and doubled quotes.
     */
    public static TableId parse(String text) {
        List<String> parts = splitQualifiedName(text);
        if (parts.size() != 2) {
            throw new IllegalArgumentException("'" + text + "' is not schema-qualified; write it as schema.table"
                    + " (quote parts with double quotes when they contain dots, spaces or capitals)");
        }
        return new TableId(parts.get(0), parts.get(1));
    }

    static List<String> splitQualifiedName(String text) {
        List<String> out = new ArrayList<>();
        for (Part p : parts(text)) {
            out.add(p.text());
        }
        return out;
    }

    /** One part of a qualified name and whether it was written in double quotes. */
    record Part(String text, boolean quoted) {
    }

    static List<Part> parts(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("table name is empty");
        }
        List<Part> parts = new ArrayList<>();
        int i = 0;
        int n = text.length();
        while (true) {
            StringBuilder part = new StringBuilder();
            if (i < n && text.charAt(i) == '"') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = text.charAt(i);
                    if (c == '"') {
                        if (i + 1 < n && text.charAt(i + 1) == '"') {
                            part.append('"');
                            i += 2;
                            continue;
                        }
                        closed = true;
                        i++;
                        break;
                    }
                    part.append(c);
                    i++;
                }
                if (!closed) {
                    throw new IllegalArgumentException("'" + text + "' has an unterminated quoted identifier");
                }
                if (part.length() == 0) {
                    throw new IllegalArgumentException("'" + text + "' has an empty quoted identifier");
                }
            }
            else {
                while (i < n && text.charAt(i) != '.') {
                    char c = text.charAt(i);
                    if (c == '"' || Character.isWhitespace(c)) {
                        throw new IllegalArgumentException("'" + text + "' has an unquoted part with '" + c
                                + "'; put that part in double quotes");
                    }
                    part.append(c);
                    i++;
                }
                if (part.length() == 0) {
                    throw new IllegalArgumentException("'" + text + "' has an empty name part");
                }
                parts.add(new Part(part.toString().toLowerCase(Locale.ROOT), false));
                part = null;
            }
            if (part != null) {
                parts.add(new Part(part.toString(), true));
            }
            if (i == n) {
                return parts;
            }
            if (text.charAt(i) != '.') {
                throw new IllegalArgumentException("'" + text + "' has text after a quoted identifier; expected '.'");
            }
            i++;
            if (i == n) {
                throw new IllegalArgumentException("'" + text + "' ends with '.'");
            }
        }
    }

    /** {@code "schema"."name"}, safe to splice into a statement. */
    public String quoted() {
        return Identifiers.quote(schema) + "." + Identifiers.quote(name);
    }

    /** The name as an operator reads it: plain where SQL would not need quotes, quoted otherwise. */
    @Override
    public String toString() {
        return Identifiers.readable(schema) + "." + Identifiers.readable(name);
    }

    @Override
    public int compareTo(TableId other) {
        int c = schema.compareTo(other.schema);
        return c != 0 ? c : name.compareTo(other.name);
    }
}
