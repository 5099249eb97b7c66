package dev.scry.backfill.app.verify;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * In Java, what {@link SqlSide} computes in SQL: a row's text as {@code ROW(...)::text} prints it
 * (record_out's quoting), its md5 over the text's UTF-8 bytes (a UTF8 database's bytes), the
 * 64-bit slice the digest sums and the bucket of a key.
 */
final class RowText {

    private RowText() {
    }

    /**
     * record_out: NULL is nothing; a value is double-quoted when it is empty or holds a quote, a
     * backslash, a parenthesis, a comma or white space, and then its quotes and backslashes are doubled.
     */
    static String record(List<String> values) {
        StringBuilder out = new StringBuilder("(");
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            String v = values.get(i);
            if (v == null) {
                continue;
            }
            if (!needsQuotes(v)) {
                out.append(v);
                continue;
            }
            out.append('"');
            for (int j = 0; j < v.length(); j++) {
                char ch = v.charAt(j);
                if (ch == '"' || ch == '\\') {
                    out.append(ch);
                }
                out.append(ch);
            }
            out.append('"');
        }
        return out.append(')').toString();
    }

    private static boolean needsQuotes(String v) {
        if (v.isEmpty()) {
            return true;
        }
        for (int j = 0; j < v.length(); j++) {
            char ch = v.charAt(j);
            // isspace() in the C locale: space, \t, \n, \v, \f, \r.
            if (ch == '"' || ch == '\\' || ch == '(' || ch == ')' || ch == ',' || ch == ' ' || (ch >= '\t' && ch <= '\r')) {
                return true;
            }
        }
        return false;
    }

    static String md5(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(text.getBytes(StandardCharsets.UTF_8)));
        }
        catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is not available", e);
        }
    }

    /** ('x' || substr(md5, 1, 16))::bit(64)::bigint: the first 16 hex digits as a two's-complement number. */
    static BigInteger slice(String md5) {
        return BigInteger.valueOf(Long.parseUnsignedLong(md5.substring(0, 16), 16));
    }

    static int bucket(String keyMd5) {
        return Integer.parseInt(keyMd5.substring(0, 2), 16);
    }
}
