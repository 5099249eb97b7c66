package dev.scry.backfill.source;

import java.util.Optional;
import java.util.Set;

import dev.scry.backfill.model.ColumnSpec;

/**
 * The column types whose every value this version carries exactly, through Debezium's converters
 * as {@link EngineProperties} configures them (with {@link DateTextConverter} and
 * {@link ArrayTextConverter} where Debezium's own lose values) and back to text in {@link ValueText}. A table with
 * any other type is refused at start-up, naming the column, rather than copied with wrong values.
 */
public final class SupportedTypes {

    private static final Set<String> SCALARS = Set.of(
            "bool", "int2", "int4", "int8",
            "numeric", "float4", "float8",
            "text", "varchar", "bpchar",
            "bytea",
            "date", "time", "timestamp", "timestamptz", "interval",
            "uuid", "json", "jsonb", "xml",
            "inet", "cidr", "macaddr", "macaddr8",
            "enum");

    // Carried as text by PlainTextConverter, which the connector picks by the column's own type
    // name: a domain over one of these would reach Debezium's lossy conversion instead.
    private static final Set<String> AS_TEXT = Set.of("bit", "varbit", "money", "point",
            "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange");
    private static final Set<String> AS_TEXT_DECLARED = Set.of("bit", "bit varying", "money", "point",
            "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange");

    private SupportedTypes() {
    }

    /** Empty when the column is carried exactly; otherwise why not. */
    public static Optional<String> whyUnsupported(ColumnSpec column) {
        if (column.array()) {
            // Arrays travel as the literal the server printed (ArrayTextConverter), whatever their
            // dimensions; their elements only need a type the shadow reads back exactly.
            return SCALARS.contains(column.baseType()) || AS_TEXT.contains(column.baseType()) || "timetz".equals(column.baseType())
                    ? Optional.empty()
                    : Optional.of("arrays of " + column.baseType() + " are not carried exactly yet");
        }
        if (column.baseType().equals("timetz")) {
            return Optional.of("type time with time zone is not carried exactly: Debezium 3.6.1 turns a streamed timetz into UTC"
                    + " and drops its offset ('10:00+02' would arrive as '08:00+00')");
        }
        if (AS_TEXT.contains(column.baseType())) {
            String declared = column.type().replaceAll("\\(.*$", "");
            return AS_TEXT_DECLARED.contains(declared)
                    ? Optional.empty()
                    : Optional.of("type " + column.type() + " is a domain over " + column.baseType() + ", which is not carried exactly yet");
        }
        return SCALARS.contains(column.baseType())
                ? Optional.empty()
                : Optional.of("type " + column.type() + " (" + column.baseType() + ") is not carried exactly yet");
    }
}
