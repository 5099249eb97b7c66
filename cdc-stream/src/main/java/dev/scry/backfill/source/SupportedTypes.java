package dev.scry.backfill.source;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.scry.backfill.model.ColumnSpec;

/**
 * Which column types the pipeline carries exactly. The pgoutput reader receives every value as
 * its type's text output and the shadow reads it back with the type's input, as native logical
 * replication does; the COPY snapshot moves the same text (binary only between identical built-in
 * types). So every type whose text its input reads back is carried, whatever it is made of: user
 * and extension types, composites, ranges, multiranges and arrays of them. What is refused is
 * what cannot make that round trip, anywhere inside a column's type (a composite holding a
 * regclass is refused like a regclass column):
 * <ul>
 * <li>{@code reg*} types and {@code aclitem}: a value is an OID of the source's catalog (a table,
 * a type, a role...) that prints as the object's name. The shadow reads the name back as its own
 * object's OID, a different one, or fails where it has no such object, and a stored OID whose
 * object is gone prints as a number that names nothing on the shadow;</li>
 * <li>PostgreSQL's internal types whose input accepts no value at all ({@code pg_node_tree},
 * the planner's statistics types, the GiST and BRIN summaries).</li>
 * </ul>
 * The Debezium reader ({@code snapshot.method: debezium}) goes through Debezium's converters as
 * {@link EngineProperties} configures them (with {@link DateTextConverter}, {@link ArrayTextConverter}
 * and {@link PlainTextConverter} where Debezium's own lose values) and back to text in
 * {@link ValueText}: it keeps the list of types tested through that path, and cannot carry a
 * timetz. Domains count as their base type.
 */
public final class SupportedTypes {

    private static final String NAMES_CATALOG_OBJECTS = "its values are OIDs of objects in the source's catalog, printed as"
            + " their names: the shadow would read each name back as the OID of an object of its own, or fail where it has none";

    private static final Map<String, String> REFUSED = Map.ofEntries(
            Map.entry("regclass", NAMES_CATALOG_OBJECTS), Map.entry("regcollation", NAMES_CATALOG_OBJECTS),
            Map.entry("regconfig", NAMES_CATALOG_OBJECTS), Map.entry("regdictionary", NAMES_CATALOG_OBJECTS),
            Map.entry("regnamespace", NAMES_CATALOG_OBJECTS), Map.entry("regoper", NAMES_CATALOG_OBJECTS),
            Map.entry("regoperator", NAMES_CATALOG_OBJECTS), Map.entry("regproc", NAMES_CATALOG_OBJECTS),
            Map.entry("regprocedure", NAMES_CATALOG_OBJECTS), Map.entry("regrole", NAMES_CATALOG_OBJECTS),
            Map.entry("regtype", NAMES_CATALOG_OBJECTS),
            Map.entry("aclitem", "its values hold OIDs of the source cluster's roles, printed as role names: the shadow's server"
                    + " reads them back only for roles it has, as OIDs of its own"),
            Map.entry("pg_node_tree", "PostgreSQL accepts no value of this internal type as input"),
            Map.entry("pg_ndistinct", "PostgreSQL accepts no value of this internal type as input"),
            Map.entry("pg_dependencies", "PostgreSQL accepts no value of this internal type as input"),
            Map.entry("pg_mcv_list", "PostgreSQL accepts no value of this internal type as input"),
            Map.entry("pg_brin_bloom_summary", "PostgreSQL accepts no value of this internal type as input"),
            Map.entry("pg_brin_minmax_multi_summary", "PostgreSQL accepts no value of this internal type as input"),
            Map.entry("gtsvector", "PostgreSQL accepts no value of this internal type as input"));

    // What the Debezium reader has been tested to carry exactly.
    private static final Set<String> DEBEZIUM_SCALARS = Set.of(
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

    /**
     * Empty when the column is carried exactly; otherwise why not.
     *
     * @param heldTypes      the built-in types ({@code pg_catalog} names) the column's values are
     *                       made of, its own type included ({@link SourceCatalog.Description#heldTypes})
     * @param debeziumReader whether the Debezium engine reads the stream, with its own limits
     */
    public static Optional<String> whyUnsupported(ColumnSpec column, Set<String> heldTypes, boolean debeziumReader) {
        return debeziumReader ? whyNotThroughDebezium(column) : whyNotAsText(column, heldTypes);
    }

    private static Optional<String> whyNotAsText(ColumnSpec column, Set<String> heldTypes) {
        return heldTypes.stream().sorted().filter(REFUSED::containsKey).findFirst()
                .map(held -> "type " + column.type() + (held.equals(column.baseType()) ? "" : " (which holds " + held + ")")
                        + " cannot be carried: " + REFUSED.get(held));
    }

    private static Optional<String> whyNotThroughDebezium(ColumnSpec column) {
        if (column.array()) {
            // Arrays travel as the literal the server printed (ArrayTextConverter), whatever their
            // dimensions; their elements only need a type the shadow reads back exactly. That
            // includes timetz: the literal keeps each element's offset.
            return DEBEZIUM_SCALARS.contains(column.baseType()) || "timetz".equals(column.baseType())
                    ? Optional.empty()
                    : Optional.of("arrays of " + column.baseType() + " are not carried exactly by the Debezium reader"
                            + " (stream.reader or snapshot.method: debezium); the copy snapshot and the pgoutput reader carry them");
        }
        if (column.baseType().equals("timetz")) {
            // ReplicationMessageColumnValueResolver resolves timetz with asOffsetTimeUtc(): a
            // converter only ever sees the UTC time, so no configuration can bring the offset back.
            return Optional.of("type " + column.type() + " is not carried exactly: Debezium 3.6.1 turns a streamed timetz into"
                    + " UTC and drops its offset ('10:00+02' would arrive as '08:00+00')");
        }
        return DEBEZIUM_SCALARS.contains(column.baseType())
                ? Optional.empty()
                : Optional.of("type " + column.type() + " (" + column.baseType() + ") is not carried exactly by the Debezium reader"
                        + " (stream.reader or snapshot.method: debezium); the copy snapshot and the pgoutput reader carry it");
    }
}
