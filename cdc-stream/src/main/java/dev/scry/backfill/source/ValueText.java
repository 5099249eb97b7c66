package dev.scry.backfill.source;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;

import org.apache.kafka.connect.data.Schema;
import org.postgresql.PGStatement;

import dev.scry.backfill.error.PipelineFailure;

/**
 * Turns a value as Debezium's converters hand it over back into PostgreSQL's text input form, so
 * that {@code text::column_type} on the shadow rebuilds exactly the source's value. Which Connect
 * representation each column gets is fixed by {@link EngineProperties} (numeric as string, times
 * in microseconds, bytea as bytes, intervals as ISO-8601 strings).
 */
public final class ValueText {

    private static final HexFormat HEX = HexFormat.of();

    // Debezium maps PostgreSQL's 'infinity' timestamps onto pgjdbc's sentinel instants.
    private static final long POSITIVE_INFINITY_MICROS = PGStatement.DATE_POSITIVE_INFINITY;
    private static final long NEGATIVE_INFINITY_MICROS = PGStatement.DATE_NEGATIVE_INFINITY;
    private static final long MICROS_PER_DAY = 86_400_000_000L;
    // ... and 'infinity' dates onto these days, far before PostgreSQL's earliest date (4713 BC).
    private static final long POSITIVE_INFINITY_DAY = LocalDate.parse("-5877611-06-21").toEpochDay();
    private static final long NEGATIVE_INFINITY_DAY = LocalDate.parse("-5877611-06-22").toEpochDay();

    private ValueText() {
    }

    /** The text form of {@code value}, or null for SQL NULL. */
    public static String of(Schema schema, Object value) {
        if (value == null) {
            return null;
        }
        String semantic = schema.name();
        if (semantic != null) {
            switch (semantic) {
                case "io.debezium.time.Date":
                    return epochDay(((Number) value).longValue());
                case "io.debezium.time.MicroTime":
                    return timeOfDay(((Number) value).longValue());
                case "io.debezium.time.Time":
                    return timeOfDay(((Number) value).longValue() * 1_000L);
                case "io.debezium.time.NanoTime":
                    return timeOfDay(((Number) value).longValue() / 1_000L);
                case "io.debezium.time.MicroTimestamp":
                    return timestampMicros(((Number) value).longValue());
                case "io.debezium.time.Timestamp":
                    return timestampMicros(Math.multiplyExact(((Number) value).longValue(), 1_000L));
                case "io.debezium.time.NanoTimestamp":
                    return timestampMicros(((Number) value).longValue() / 1_000L);
                case "io.debezium.time.ZonedTimestamp":
                    return zonedTimestamp((String) value);
                case "org.apache.kafka.connect.data.Decimal":
                    return ((BigDecimal) value).toPlainString();
                default:
                    break;
            }
        }
        switch (schema.type()) {
            case INT8, INT16, INT32, INT64:
                return value.toString();
            case FLOAT32:
                return floating(((Number) value).floatValue());
            case FLOAT64:
                return floating(((Number) value).doubleValue());
            case BOOLEAN:
                return ((Boolean) value) ? "true" : "false";
            case STRING:
                return (String) value;
            case BYTES:
                return "\\x" + HEX.formatHex(bytes(value));
            case ARRAY:
                return array(schema.valueSchema(), (List<?>) value);
            default:
                throw new PipelineFailure("cannot carry a value of Connect type " + schema.type()
                        + (semantic == null ? "" : " (" + semantic + ")") + "; this column type is not supported");
        }
    }

    static byte[] bytes(Object value) {
        if (value instanceof byte[] b) {
            return b;
        }
        ByteBuffer buffer = ((ByteBuffer) value).duplicate();
        byte[] b = new byte[buffer.remaining()];
        buffer.get(b);
        return b;
    }

    private static String floating(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        return Double.toString(d);
    }

    private static String floating(float f) {
        if (Float.isNaN(f)) {
            return "NaN";
        }
        if (Float.isInfinite(f)) {
            return f > 0 ? "Infinity" : "-Infinity";
        }
        // Float.toString prints the shortest decimal that reads back as this float, as float4out does.
        return Float.toString(f);
    }

    static String epochDay(long day) {
        if (day == POSITIVE_INFINITY_DAY) {
            return "infinity";
        }
        if (day == NEGATIVE_INFINITY_DAY) {
            return "-infinity";
        }
        return date(LocalDate.ofEpochDay(day));
    }

    /** PostgreSQL writes years before 1 AD as "YYYY-MM-DD BC"; ISO's year 0 is 1 BC. */
    static String date(LocalDate d) {
        int year = d.getYear();
        if (year > 0) {
            return String.format("%04d-%02d-%02d", year, d.getMonthValue(), d.getDayOfMonth());
        }
        return String.format("%04d-%02d-%02d BC", 1 - year, d.getMonthValue(), d.getDayOfMonth());
    }

    static String timeOfDay(long micros) {
        if (micros == MICROS_PER_DAY) {
            return "24:00:00";
        }
        return LocalTime.ofNanoOfDay(micros * 1_000L).toString();
    }

    static String timestampMicros(long micros) {
        if (micros == POSITIVE_INFINITY_MICROS) {
            return "infinity";
        }
        if (micros == NEGATIVE_INFINITY_MICROS) {
            return "-infinity";
        }
        long seconds = Math.floorDiv(micros, 1_000_000L);
        int nanos = (int) Math.floorMod(micros, 1_000_000L) * 1_000;
        LocalDateTime t = LocalDateTime.ofEpochSecond(seconds, nanos, ZoneOffset.UTC);
        String date = date(t.toLocalDate());
        String time = t.toLocalTime().toString();
        if (date.endsWith(" BC")) {
            return date.substring(0, date.length() - 3) + " " + time + " BC";
        }
        return date + " " + time;
    }

    /**
     * Debezium prints timestamptz as ISO-8601 in UTC, with a signed year outside 0000-9999
     * ({@code -0043-03-15T10:00:00Z} is 44 BC), which PostgreSQL does not read; rewrite those.
     */
    static String zonedTimestamp(String iso) {
        if (iso.isEmpty() || (iso.charAt(0) != '-' && iso.charAt(0) != '+') || iso.equals("-infinity")) {
            return iso;
        }
        java.time.OffsetDateTime t = java.time.OffsetDateTime.parse(iso);
        String time = t.toLocalTime().toString();
        String date = date(t.toLocalDate());
        String offset = t.getOffset().getId().equals("Z") ? "+00" : t.getOffset().getId();
        if (date.endsWith(" BC")) {
            return date.substring(0, date.length() - 3) + " " + time + offset + " BC";
        }
        return date + " " + time + offset;
    }

    /** A one-dimensional array literal; every element is quoted, so no element text needs inspecting. */
    static String array(Schema elementSchema, List<?> elements) {
        StringBuilder out = new StringBuilder(elements.size() * 8 + 2).append('{');
        for (int i = 0; i < elements.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            Object element = elements.get(i);
            if (element instanceof List<?> nested) {
                out.append(array(elementSchema.type() == Schema.Type.ARRAY ? elementSchema.valueSchema() : elementSchema, nested));
                continue;
            }
            String text = of(elementSchema, element);
            if (text == null) {
                out.append("NULL");
                continue;
            }
            out.append('"');
            for (int c = 0; c < text.length(); c++) {
                char ch = text.charAt(c);
                if (ch == '"' || ch == '\\') {
                    out.append('\\');
                }
                out.append(ch);
            }
            out.append('"');
        }
        return out.append('}').toString();
    }
}
