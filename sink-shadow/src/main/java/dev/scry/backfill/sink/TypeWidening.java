package dev.scry.backfill.sink;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which column type changes the shadow follows by itself. A source {@code ALTER COLUMN ... TYPE}
 * rewrites the table without logging the rows, so the shadow has to redo the conversion on its
 * own rows; that gives the source's values only when the change cannot alter a value (no
 * {@code USING} expression could have been needed). Those are the widening changes: a larger
 * integer, numeric with more digits and the same scale, a longer or unlimited string or bit
 * string, a finer fractional-seconds precision, float4 to float8.
 */
public final class TypeWidening {

    private static final Pattern TYPE = Pattern.compile("^([a-z ]+?)(?:\\((\\d+)(?:,(\\d+))?\\))?( with(?:out)? time zone)?(\\[\\])*$");
    private static final List<String> INTEGERS = List.of("smallint", "integer", "bigint");

    private TypeWidening() {
    }

    /** True when every value of type {@code from} converts to {@code to} unchanged. */
    public static boolean isWidening(String from, String to) {
        if (from.equals(to)) {
            return true;
        }
        Matcher a = TYPE.matcher(from);
        Matcher b = TYPE.matcher(to);
        if (!a.matches() || !b.matches() || a.group(5) != null || b.group(5) != null) {
            return false;
        }
        String baseA = a.group(1).trim() + (a.group(4) == null ? "" : a.group(4));
        String baseB = b.group(1).trim() + (b.group(4) == null ? "" : b.group(4));
        Integer lenA = a.group(2) == null ? null : Integer.valueOf(a.group(2));
        Integer lenB = b.group(2) == null ? null : Integer.valueOf(b.group(2));
        int intA = INTEGERS.indexOf(baseA);
        int intB = INTEGERS.indexOf(baseB);
        if (intA >= 0) {
            return (intB >= intA) || ("numeric".equals(baseB) && (lenB == null || lenB - scale(b) >= 19));
        }
        return switch (baseA) {
            case "real" -> "double precision".equals(baseB);
            case "character varying" -> ("character varying".equals(baseB) && longer(lenA, lenB)) || "text".equals(baseB);
            case "text" -> "character varying".equals(baseB) && lenB == null;
            case "bit varying" -> "bit varying".equals(baseB) && longer(lenA, lenB);
            case "numeric" -> "numeric".equals(baseB) && (lenB == null
                    || (lenA != null && scale(a) == scale(b) && lenB >= lenA));
            case "timestamp without time zone", "timestamp with time zone", "time without time zone", "interval" ->
                    baseA.equals(baseB) && longer(lenA == null ? 6 : lenA, lenB == null ? 6 : lenB);
            default -> false;
        };
    }

    private static boolean longer(Integer from, Integer to) {
        return to == null || (from != null && to >= from);
    }

    private static int scale(Matcher m) {
        return m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
    }
}
