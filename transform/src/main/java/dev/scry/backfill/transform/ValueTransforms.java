package dev.scry.backfill.transform;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import dev.scry.backfill.model.ColumnSpec;

/** The built-in value transforms. */
final class ValueTransforms {

    private ValueTransforms() {
    }

    /** NULL stays NULL, as every built-in value transform leaves it. */
    private static String nullOr(String input, String expression) {
        return "CASE WHEN (" + input + ") IS NULL THEN NULL ELSE " + expression + " END";
    }

    /**
     * HMAC-SHA-256 over the UTF-8 bytes of the value's text, as lowercase hex: the same as
     * {@code encode(hmac(col::text, key, 'sha256'), 'hex')} in SQL (pgcrypto), so deterministic
     * (joins on hashed columns still work) and checkable. The key is never logged.
     */
    static final class Hash extends ColumnTransform {
        private final SecretKeySpec key;
        private final String keyText;

        Hash(List<ColumnSelector> columns, String key) {
            super("hash", columns);
            this.key = new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
            this.keyText = key;
        }

        /**
         * pgcrypto's hmac where the source has it (the key travels as a bind parameter, never in
         * the statement's text), over the text's bytes in a UTF8 database, as Java hashes its
         * UTF-8 bytes; otherwise in this process.
         */
        @Override
        public SourceForm sourceForm() {
            return SourceForm.sql((input, column, context) -> context.utf8()
                    ? context.function("pgcrypto", "hmac").map(hmac -> nullOr(input, "encode(" + hmac + "(" + SourceForm.text(input)
                            + ", " + context.parameter(keyText) + "::text, 'sha256'::text), 'hex')"))
                    : java.util.Optional.empty());
        }

        @Override
        protected String transform(String value, ColumnSpec column) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(key);
                return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
            }
            catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is not available: " + e.getMessage(), e);
            }
        }

        @Override
        protected ColumnSpec output(ColumnSpec c) {
            return asText(c);
        }

        @Override
        protected boolean keepsKeysDistinct() {
            return true;
        }

        @Override
        public String toString() {
            return "hash (key hidden)";
        }
    }

    /** A fixed value, or NULL, in place of every value; a NULL stays NULL. */
    static final class Redact extends ColumnTransform {
        private final String value;

        Redact(List<ColumnSelector> columns, String value) {
            super("redact", columns);
            this.value = value;
        }

        @Override
        public SourceForm sourceForm() {
            return SourceForm.sql((input, column, context) -> java.util.Optional.of(value == null ? "NULL::text"
                    : nullOr(input, context.parameter(value) + "::text")));
        }

        @Override
        protected String transform(String v, ColumnSpec column) {
            return value;
        }

        @Override
        protected ColumnSpec output(ColumnSpec c) {
            // Redacted to NULL, the column cannot keep a NOT NULL.
            return value == null ? new ColumnSpec(c.name(), c.type(), false, c.baseType(), c.array()) : c;
        }
    }

    /** Keeps the last {@code keepLast} characters and replaces the others with {@code *}; text on the shadow. */
    static final class Mask extends ColumnTransform {
        private final int keepLast;

        Mask(List<ColumnSelector> columns, int keepLast) {
            super("mask", columns);
            this.keepLast = keepLast;
        }

        /** In characters, which in every server encoding are the code points Java counts. */
        @Override
        public SourceForm sourceForm() {
            return SourceForm.sql((input, column, context) -> {
                String text = SourceForm.text(input);
                return java.util.Optional.of(nullOr(input, "repeat('*', greatest(char_length(" + text + ") - " + keepLast + ", 0)) || right("
                        + text + ", " + keepLast + ")"));
            });
        }

        @Override
        protected String transform(String value, ColumnSpec column) {
            int[] cps = value.codePoints().toArray();
            StringBuilder out = new StringBuilder(value.length());
            for (int i = 0; i < cps.length; i++) {
                if (i < cps.length - keepLast) {
                    out.append('*');
                }
                else {
                    out.appendCodePoint(cps[i]);
                }
            }
            return out.toString();
        }

        @Override
        protected ColumnSpec output(ColumnSpec c) {
            return asText(c);
        }
    }

    /** Numbers floored to a multiple of {@code bucket}; dates and timestamps truncated to hour, day, month or year. */
    static final class Generalize extends ColumnTransform {
        static final Set<String> NUMBERS = Set.of("int2", "int4", "int8", "numeric", "float4", "float8");
        static final Set<String> TIMES = Set.of("date", "timestamp", "timestamptz");
        private final BigDecimal bucket;
        private final String truncate;

        Generalize(List<ColumnSelector> columns, BigDecimal bucket, String truncate) {
            super("generalize", columns);
            this.bucket = bucket;
            this.truncate = truncate;
        }

        /**
         * Numbers floored exactly (div and mod, not a division that rounds), trailing zeros
         * trimmed as Java strips them; NaN and infinities as they are. Times with date_trunc,
         * timestamptz in UTC as the copy reads it (verify's sessions are in UTC).
         */
        @Override
        public SourceForm sourceForm() {
            return SourceForm.sql((input, column, context) -> {
                if (NUMBERS.contains(column.baseType())) {
                    String text = SourceForm.text(input);
                    String b = bucket.toPlainString() + "::numeric";
                    return java.util.Optional.of("CASE WHEN (" + input + ") IS NULL THEN NULL WHEN " + text
                            + " IN ('NaN', 'Infinity', '-Infinity') THEN " + text + " ELSE trim_scale((div(" + text + "::numeric, " + b
                            + ") - CASE WHEN mod(" + text + "::numeric, " + b + ") < 0 THEN 1 ELSE 0 END) * " + b + ")::text END");
                }
                String unit = "'" + truncate + "'";
                return java.util.Optional.of(switch (column.baseType()) {
                    case "date" -> "date_trunc(" + unit + ", (" + input + ")::date::timestamp)::date";
                    case "timestamp" -> "date_trunc(" + unit + ", (" + input + ")::timestamp)";
                    default -> "date_trunc(" + unit + ", (" + input + ")::timestamptz, 'UTC')";
                });
            });
        }

        @Override
        protected ColumnSpec output(ColumnSpec c) {
            boolean number = NUMBERS.contains(c.baseType());
            boolean time = TIMES.contains(c.baseType());
            if (c.array() || (!number && !time)) {
                throw new IllegalArgumentException("generalize applies to numbers, dates and timestamps; column " + c.name()
                        + " is " + c.type());
            }
            if (number && bucket == null) {
                throw new IllegalArgumentException("generalize of number column " + c.name() + " needs `bucket`");
            }
            if (time && truncate == null) {
                throw new IllegalArgumentException("generalize of " + c.type() + " column " + c.name() + " needs `truncate`");
            }
            if (time && c.baseType().equals("date") && truncate.equals("hour")) {
                throw new IllegalArgumentException("generalize: a date column (" + c.name() + ") cannot be truncated to the hour");
            }
            return c;
        }

        @Override
        protected String transform(String value, ColumnSpec column) {
            if (NUMBERS.contains(column.baseType())) {
                BigDecimal v;
                try {
                    v = new BigDecimal(value);
                }
                catch (NumberFormatException e) {
                    return value; // NaN, Infinity: no bucket holds them
                }
                return v.divide(bucket, 0, RoundingMode.FLOOR).multiply(bucket).stripTrailingZeros().toPlainString();
            }
            return truncateTime(value, truncate);
        }

        /** Truncates PostgreSQL's ISO text of a date or timestamp, keeping an offset and an era. */
        static String truncateTime(String value, String unit) {
            if (value.endsWith("infinity") || value.length() < 10) {
                return value;
            }
            String suffix = value.endsWith(" BC") ? " BC" : "";
            String body = suffix.isEmpty() ? value : value.substring(0, value.length() - 3);
            int dash = body.indexOf('-', 1);
            String year = body.substring(0, dash);
            String month = body.substring(dash + 1, dash + 3);
            String day = body.substring(dash + 4, dash + 6);
            boolean hasTime = body.length() > dash + 6;
            String offset = "";
            String hour = "00";
            if (hasTime) {
                String time = body.substring(dash + 7);
                hour = time.substring(0, 2);
                int sign = Math.max(time.lastIndexOf('+'), time.lastIndexOf('-'));
                offset = sign > 0 ? time.substring(sign) : "";
            }
            String date = switch (unit) {
                case "year" -> year + "-01-01";
                case "month" -> year + "-" + month + "-01";
                default -> year + "-" + month + "-" + day;
            };
            if (!hasTime) {
                return date + suffix;
            }
            String clock = unit.equals("hour") ? hour + ":00:00" : "00:00:00";
            return date + " " + clock + offset + suffix;
        }
    }
}
