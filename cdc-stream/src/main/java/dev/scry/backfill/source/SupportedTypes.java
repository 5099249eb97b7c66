package dev.scry.backfill.source;

import java.util.Optional;
import java.util.Set;

import dev.scry.backfill.model.ColumnSpec;

/**
 * The column types whose every value this version carries exactly and has tested end to end. The
 * pgoutput reader and the COPY snapshot move each value as its type's text, so this list is what
 * has been checked (TypesIT), not a limit of the format; the Debezium reader (snapshot.method:
 * debezium) goes through Debezium's converters as {@link EngineProperties} configures them (with
 * {@link DateTextConverter}, {@link ArrayTextConverter} and {@link PlainTextConverter} where
 * Debezium's own lose values) and back to text in {@link ValueText}, and cannot carry a timetz. A
 * table with any other type is refused at start-up, naming the column, rather than copied with
 * wrong values. Domains count as their base type.
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
            "enum",
            // Carried as text by PlainTextConverter.
            "bit", "varbit", "money", "point",
            "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange");

    private SupportedTypes() {
    }

    /** Empty when the column is carried exactly by the pgoutput reader; otherwise why not. */
    public static Optional<String> whyUnsupported(ColumnSpec column) {
        return whyUnsupported(column, false);
    }

    /**
     * Empty when the column is carried exactly; otherwise why not. The pgoutput reader receives
     * every value as its type's own text; the Debezium engine converts values on the way and
     * loses the offset of a timetz.
     */
    public static Optional<String> whyUnsupported(ColumnSpec column, boolean debeziumReader) {
        if (column.array()) {
            // Arrays travel as the literal the server printed (ArrayTextConverter), whatever their
            // dimensions; their elements only need a type the shadow reads back exactly. That
            // includes timetz: the literal keeps each element's offset.
            return SCALARS.contains(column.baseType()) || "timetz".equals(column.baseType())
                    ? Optional.empty()
                    : Optional.of("arrays of " + column.baseType() + " are not carried exactly yet");
        }
        if (column.baseType().equals("timetz") && !debeziumReader) {
            return Optional.empty();
        }
        if (column.baseType().equals("timetz")) {
            // ReplicationMessageColumnValueResolver resolves timetz with asOffsetTimeUtc(): a
            // converter only ever sees the UTC time, so no configuration can bring the offset back.
            return Optional.of("type " + column.type() + " is not carried exactly: Debezium 3.6.1 turns a streamed timetz into"
                    + " UTC and drops its offset ('10:00+02' would arrive as '08:00+00')");
        }
        return SCALARS.contains(column.baseType())
                ? Optional.empty()
                : Optional.of("type " + column.type() + " (" + column.baseType() + ") is not carried exactly yet");
    }
}
