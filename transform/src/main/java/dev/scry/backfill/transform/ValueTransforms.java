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

    /**
     * HMAC-SHA-256 over the UTF-8 bytes of the value's text, as lowercase hex: the same as
     * {@code encode(hmac(col::text, key, 'sha256'), 'hex')} in SQL (pgcrypto), so deterministic
     * (joins on hashed columns still work) and checkable. The key is never logged.
     */
    static final class Hash extends ColumnTransform {
        private final SecretKeySpec key;

        Hash(List<ColumnSelector> columns, String key) {
            super("hash", columns);
            this.key = new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
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
