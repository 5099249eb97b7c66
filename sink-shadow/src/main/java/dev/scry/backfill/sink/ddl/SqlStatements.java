package dev.scry.backfill.sink.ddl;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Finds one DDL command in the text a client sent. An event trigger sees the command it fires for
 * only as {@code current_query()}, the whole string the client sent, which may hold several
 * statements ({@code CREATE INDEX ...; ALTER TABLE ...;} in one simple-protocol query, a migration
 * file sent whole). The trigger counts the commands it fired for in that string, with their tags;
 * here the string is cut into statements as PostgreSQL's lexer would (quotes, dollar quotes,
 * comments) and the DDL statements are matched to those tags in order.
 */
public final class SqlStatements {

    // The first words of statements that fire ddl_command_end (PostgreSQL, "Event Trigger Firing Matrix").
    private static final Set<String> DDL_WORDS = Set.of("CREATE", "ALTER", "DROP", "COMMENT", "GRANT", "REVOKE", "SECURITY", "REFRESH",
            "IMPORT");
    // Words that the statement may have and its command tag does not.
    private static final Set<String> OPTIONAL = Set.of("OR", "REPLACE", "UNIQUE", "TEMP", "TEMPORARY", "UNLOGGED", "CONSTRAINT", "RECURSIVE",
            "TRUSTED", "PROCEDURAL", "DEFAULT", "GLOBAL", "LOCAL");

    private SqlStatements() {
    }

    /**
     * The statement of {@code query} that fired the last of {@code tags} (the command tags of the
     * DDL commands run so far for this query string, in order), or null when they cannot be told
     * apart (a DDL command inside a function or a DO block: the string holds the call, not the command).
     */
    public static String isolate(String query, List<String> tags) {
        List<String> ddl = split(query).stream().filter(s -> DDL_WORDS.contains(firstWord(s))).toList();
        int at = 0;
        String found = null;
        for (String tag : tags) {
            while (at < ddl.size() && !matches(ddl.get(at), tag)) {
                at++;
            }
            if (at == ddl.size()) {
                return null;
            }
            found = ddl.get(at++);
        }
        return found;
    }

    /** Whether a statement's leading words are those of a command tag ({@code CREATE INDEX}, {@code COMMENT}). */
    static boolean matches(String statement, String tag) {
        List<String> words = words(statement, 8).stream().filter(w -> !OPTIONAL.contains(w)).toList();
        String[] want = tag.toUpperCase(Locale.ROOT).split(" ");
        if (words.size() < want.length) {
            return false;
        }
        for (int i = 0; i < want.length; i++) {
            if (!words.get(i).equals(want[i])) {
                return false;
            }
        }
        return true;
    }

    private static String firstWord(String statement) {
        List<String> w = words(statement, 1);
        return w.isEmpty() ? "" : w.get(0);
    }

    private static List<String> words(String statement, int max) {
        List<String> out = new ArrayList<>();
        for (String w : statement.split("[\\s(]+")) {
            if (!w.isEmpty()) {
                out.add(w.toUpperCase(Locale.ROOT));
                if (out.size() == max) {
                    break;
                }
            }
        }
        return out;
    }

    /** The statements of {@code sql}, each without its leading comments and surrounding blanks; empty ones left out. */
    public static List<String> split(String sql) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int n = sql.length();
        int i = 0;
        int parens = 0;
        while (i < n) {
            char ch = sql.charAt(i);
            char next = i + 1 < n ? sql.charAt(i + 1) : '\0';
            if (ch == '-' && next == '-') {
                int end = sql.indexOf('\n', i);
                end = end < 0 ? n : end;
                if (!current.toString().isBlank()) {
                    current.append(sql, i, end);
                }
                i = end;
                continue;
            }
            if (ch == '/' && next == '*') {
                int depth = 1;
                int j = i + 2;
                while (j < n && depth > 0) {
                    if (sql.startsWith("/*", j)) {
                        depth++;
                        j += 2;
                    }
                    else if (sql.startsWith("*/", j)) {
                        depth--;
                        j += 2;
                    }
                    else {
                        j++;
                    }
                }
                if (!current.toString().isBlank()) {
                    current.append(sql, i, j);
                }
                i = j;
                continue;
            }
            if (ch == '\'') {
                boolean backslashes = i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e')
                        && (i < 2 || !Character.isLetterOrDigit(sql.charAt(i - 2)) && sql.charAt(i - 2) != '_');
                int j = quotedEnd(sql, i, '\'', backslashes);
                current.append(sql, i, j);
                i = j;
                continue;
            }
            if (ch == '"') {
                int j = quotedEnd(sql, i, '"', false);
                current.append(sql, i, j);
                i = j;
                continue;
            }
            if (ch == '$' && (i == 0 || !isIdentifierChar(sql.charAt(i - 1)))) {
                int j = i + 1;
                while (j < n && isIdentifierChar(sql.charAt(j)) && !Character.isDigit(sql.charAt(i + 1))) {
                    j++;
                }
                if (j < n && sql.charAt(j) == '$') {
                    String tag = sql.substring(i, j + 1);
                    int end = sql.indexOf(tag, j + 1);
                    end = end < 0 ? n : end + tag.length();
                    current.append(sql, i, end);
                    i = end;
                    continue;
                }
            }
            if (ch == '(') {
                parens++;
            }
            else if (ch == ')') {
                parens = Math.max(0, parens - 1);
            }
            if (ch == ';' && parens == 0) {
                add(out, current);
                current.setLength(0);
                i++;
                continue;
            }
            current.append(ch);
            i++;
        }
        add(out, current);
        return out;
    }

    private static void add(List<String> out, StringBuilder statement) {
        String s = statement.toString().strip();
        if (!s.isEmpty()) {
            out.add(s);
        }
    }

    /**
     * Where the literal or quoted identifier opening at {@code start} ends (just past its closing
     * quote, or the end of the text): a doubled quote stands for one, and in an E'' string a
     * backslash escapes the next character.
     */
    private static int quotedEnd(String sql, int start, char quote, boolean backslashes) {
        int n = sql.length();
        int j = start + 1;
        while (j < n) {
            char c = sql.charAt(j);
            if (backslashes && c == '\\') {
                j += 2;
                continue;
            }
            if (c == quote) {
                if (j + 1 < n && sql.charAt(j + 1) == quote) {
                    j += 2;
                    continue;
                }
                break;
            }
            j++;
        }
        return Math.min(n, j + 1);
    }

    private static boolean isIdentifierChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }
}
