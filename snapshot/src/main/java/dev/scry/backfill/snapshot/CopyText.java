package dev.scry.backfill.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One row of COPY's text format, read and written: tab-separated fields, {@code \N} for NULL,
 * backslash escapes for backslash, tab, newline, carriage return and the other control
 * characters PostgreSQL escapes. Only used for tables a transform touches; the others are copied
 * byte for byte.
 */
final class CopyText {

    private CopyText() {
    }

    static String[] parse(byte[] row) {
        String line = new String(row, StandardCharsets.UTF_8);
        int end = line.endsWith("\n") ? line.length() - 1 : line.length();
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean isNull = false;
        for (int i = 0; i < end; i++) {
            char c = line.charAt(i);
            if (c == '\t') {
                fields.add(isNull ? null : field.toString());
                field.setLength(0);
                isNull = false;
            }
            else if (c == '\\' && i + 1 < end) {
                char n = line.charAt(++i);
                switch (n) {
                    case 'N' -> isNull = true;
                    case 'b' -> field.append('\b');
                    case 'f' -> field.append('\f');
                    case 'n' -> field.append('\n');
                    case 'r' -> field.append('\r');
                    case 't' -> field.append('\t');
                    case 'v' -> field.append('\u000B');
                    default -> field.append(n);
                }
            }
            else {
                field.append(c);
            }
        }
        fields.add(isNull ? null : field.toString());
        return fields.toArray(new String[0]);
    }

    static byte[] format(String[] values) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                out.append('\t');
            }
            String v = values[i];
            if (v == null) {
                out.append("\\N");
                continue;
            }
            for (int j = 0; j < v.length(); j++) {
                char c = v.charAt(j);
                switch (c) {
                    case '\\' -> out.append("\\\\");
                    case '\t' -> out.append("\\t");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\b' -> out.append("\\b");
                    case '\f' -> out.append("\\f");
                    case '\u000B' -> out.append("\\v");
                    default -> out.append(c);
                }
            }
        }
        return out.append('\n').toString().getBytes(StandardCharsets.UTF_8);
    }
}
