package dev.scry.backfill.source;

import java.util.Optional;
import java.util.Set;

import dev.scry.backfill.model.ColumnSpec;

/**
 * The column types whose every value this version carries exactly, through Debezium's converters
 * as {@link EngineProperties} configures them and back to text in {@link ValueText}. A table with
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

    /**
     * Arrays whose elements arrive exactly in both the snapshot and the stream. Left out on purpose,
     * because Debezium's array conversions lose values: numeric[] (NaN elements become a NULL
     * array), date[] and timestamp[] (BC and pre-1582 values shift), time[] (24:00:00 and
     * microseconds are lost).
     */
    private static final Set<String> ARRAY_ELEMENTS = Set.of(
            "bool", "int2", "int4", "int8", "float4", "float8",
            "text", "varchar", "bpchar",
            "uuid", "json", "jsonb", "inet", "cidr", "macaddr", "enum");

    private SupportedTypes() {
    }

    /** Empty when the column is carried exactly; otherwise why not. */
    public static Optional<String> whyUnsupported(ColumnSpec column) {
        if (column.array()) {
            return ARRAY_ELEMENTS.contains(column.baseType())
                    ? Optional.empty()
                    : Optional.of("arrays of " + column.baseType() + " are not carried exactly yet");
        }
        return SCALARS.contains(column.baseType())
                ? Optional.empty()
                : Optional.of("type " + column.type() + " (" + column.baseType() + ") is not carried exactly yet");
    }
}
