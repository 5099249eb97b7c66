package dev.scry.backfill.transform;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableSpec;

/**
 * {@code schema.table.column} as SQL writes each part (quoted parts keep case, dots and quotes),
 * with {@code *} in an unquoted part matching any run of characters.
 */
public record ColumnSelector(String text, Pattern schema, Pattern table, Pattern column, boolean exact) {

    public static ColumnSelector parse(String text) {
        List<String[]> parts = split(text);
        if (parts.size() != 3) {
            throw new IllegalArgumentException("'" + text + "' is not schema.table.column (use * for any part, e.g. public.*.email)");
        }
        boolean exact = parts.stream().noneMatch(p -> p[1] == null && p[0].contains("*"));
        return new ColumnSelector(text, glob(parts.get(0)), glob(parts.get(1)), glob(parts.get(2)), exact);
    }

    public boolean matches(TableSpec table, ColumnSpec column) {
        return matches(table.id(), column.name());
    }

    public boolean matches(dev.scry.backfill.model.TableId table, String column) {
        return schema.matcher(table.schema()).matches() && this.table.matcher(table.name()).matches()
                && this.column.matcher(column).matches();
    }

    /** The exact selectors of {@code selectors} that matched no column of any table (a misspelt name), each as its fix. */
    static List<String> unmatched(List<ColumnSelector> selectors, java.util.Set<ColumnSelector> used) {
        return selectors.stream().filter(s -> s.exact() && !used.contains(s))
                .map(s -> "column " + s.text() + " does not exist in the configured tables; check the name (schema.table.column,"
                        + " quoted as SQL quotes it)")
                .toList();
    }

    public boolean matchesTable(TableSpec table) {
        return schema.matcher(table.id().schema()).matches() && this.table.matcher(table.id().name()).matches();
    }

    private static Pattern glob(String[] part) {
        if (part[1] != null) {
            return Pattern.compile(Pattern.quote(part[0]));
        }
        String[] pieces = part[0].split("\\*", -1);
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < pieces.length; i++) {
            regex.append(i == 0 ? "" : ".*").append(Pattern.quote(pieces[i]));
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL);
    }

    /** Parts as {text, "quoted" or null}; unquoted parts fold to lower case. */
    private static List<String[]> split(String text) {
        List<String[]> parts = new ArrayList<>();
        int i = 0;
        int n = text.length();
        while (i <= n) {
            StringBuilder part = new StringBuilder();
            boolean quoted = i < n && text.charAt(i) == '"';
            if (quoted) {
                i++;
                while (i < n) {
                    char c = text.charAt(i);
                    if (c == '"') {
                        if (i + 1 < n && text.charAt(i + 1) == '"') {
                            part.append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    part.append(c);
                    i++;
                }
            }
            else {
                while (i < n && text.charAt(i) != '.') {
                    part.append(Character.toLowerCase(text.charAt(i)));
                    i++;
                }
            }
            if (part.length() == 0) {
                throw new IllegalArgumentException("'" + text + "' has an empty name part");
            }
            parts.add(new String[] {part.toString(), quoted ? "quoted" : null});
            if (i >= n) {
                break;
            }
            if (text.charAt(i) != '.') {
                throw new IllegalArgumentException("'" + text + "' has text after a quoted name; expected '.'");
            }
            i++;
        }
        return parts;
    }
}
