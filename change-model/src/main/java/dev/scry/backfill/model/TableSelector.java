package dev.scry.backfill.model;

import java.util.List;
import java.util.regex.Pattern;

/**
 * One entry of {@code tables}: an exact table ({@code public.orders}, {@code "Sales"."Order Lines"})
 * or a pattern where an unquoted part holds {@code *}, matching any run of characters
 * ({@code public.*}, {@code sales.order_*}, {@code "Sales Dept".*}). A quoted {@code "*"} is a
 * table named {@code *}.
 */
public record TableSelector(String text, String schema, boolean schemaGlob, String name, boolean nameGlob) {

    public static TableSelector parse(String text) {
        List<TableId.Part> parts = TableId.parts(text);
        if (parts.size() != 2) {
            throw new IllegalArgumentException("'" + text + "' is not schema-qualified; write it as schema.table or schema.*"
                    + " (quote parts with double quotes when they contain dots, spaces or capitals)");
        }
        TableId.Part s = parts.get(0);
        TableId.Part n = parts.get(1);
        return new TableSelector(text, s.text(), !s.quoted() && s.text().contains("*"), n.text(), !n.quoted() && n.text().contains("*"));
    }

    public boolean isPattern() {
        return schemaGlob || nameGlob;
    }

    /** The exact table; only for selectors that are not patterns. */
    public TableId table() {
        if (isPattern()) {
            throw new IllegalStateException(text + " is a pattern");
        }
        return new TableId(schema, name);
    }

    public boolean matches(TableId table) {
        return part(schema, schemaGlob).matcher(table.schema()).matches() && part(name, nameGlob).matcher(table.name()).matches();
    }

    /**
     * Whether this entry takes {@code schema} whole ({@code shop.*}, {@code app_*.*}): then its
     * sequences, views, functions and procedures come along with its tables.
     */
    public boolean takesWholeSchema(String schema) {
        return nameGlob && name.equals("*") && part(this.schema, schemaGlob).matcher(schema).matches();
    }

    /** SQL LIKE patterns for the schema and the name, for narrowing a catalog query. */
    public String schemaLike() {
        return like(schema, schemaGlob);
    }

    public String nameLike() {
        return like(name, nameGlob);
    }

    private static Pattern part(String text, boolean glob) {
        if (!glob) {
            return Pattern.compile(Pattern.quote(text));
        }
        String[] pieces = text.split("\\*", -1);
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < pieces.length; i++) {
            regex.append(i == 0 ? "" : ".*").append(Pattern.quote(pieces[i]));
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL);
    }

    private static String like(String text, boolean glob) {
        String escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
        return glob ? escaped.replace("*", "%") : escaped;
    }

    @Override
    public String toString() {
        return text;
    }
}
