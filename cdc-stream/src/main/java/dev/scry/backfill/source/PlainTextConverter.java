package dev.scry.backfill.source;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.connect.data.SchemaBuilder;
import org.postgresql.geometric.PGpoint;
import org.postgresql.util.PGobject;

import io.debezium.connector.postgresql.UnchangedToastedReplicationMessageColumn;
import io.debezium.spi.converter.CustomConverter;
import io.debezium.spi.converter.RelationalColumn;

/**
 * Hands bit strings, money, points and ranges over as PostgreSQL text. Debezium's own conversions
 * lose information for these: a varbit becomes bytes without its length (trailing zero bits
 * vanish), bit(1) a boolean, a point a geometry struct, money a number of the connector's scale.
 * The stream gives us the server's text (bit strings, ranges), a {@link BigDecimal} parsed from it
 * (money) or a pgjdbc {@link PGpoint} holding the two float8 values, whose shortest round-trip
 * decimal text the shadow reads back to the same values.
 */
public final class PlainTextConverter implements CustomConverter<SchemaBuilder, RelationalColumn> {

    static final String SCHEMA_NAME = "dev.scry.backfill.PlainText";
    static final String PLACEHOLDER = "placeholder";

    /** Type names (as the connector names them) this converter takes. */
    static final Set<String> TYPES = Set.of("bit", "varbit", "money", "point",
            "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange");

    /**
     * The same types by OID (fixed in PostgreSQL's pg_type.dat). A column of a domain reaches
     * {@link #converterFor} under the domain's own name, but with its root type's OID as the
     * native type (PgOutputMessageDecoder and PostgresConnection both use getRootType()), while
     * the stream resolves its values through the domain to the base type.
     */
    static final Map<Integer, String> ROOT_OIDS = Map.of(1560, "bit", 1562, "varbit", 790, "money", 600, "point",
            3904, "int4range", 3926, "int8range", 3906, "numrange", 3912, "daterange", 3908, "tsrange", 3910, "tstzrange");

    private ToastPlaceholder placeholder;

    @Override
    public void configure(Properties props) {
        String text = props.getProperty(PLACEHOLDER);
        if (text == null) {
            throw new IllegalStateException("PlainTextConverter needs the '" + PLACEHOLDER + "' property");
        }
        placeholder = new ToastPlaceholder(text);
    }

    @Override
    public void converterFor(RelationalColumn column, ConverterRegistration<SchemaBuilder> registration) {
        if (takes(column.typeName(), column.nativeType())) {
            registration.register(SchemaBuilder.string().name(SCHEMA_NAME).optional(), this::toText);
        }
    }

    static boolean takes(String typeName, int nativeType) {
        return TYPES.contains(typeName) || ROOT_OIDS.containsKey(nativeType);
    }

    String toText(Object raw) {
        if (raw == null) {
            return null;
        }
        if (UnchangedToastedReplicationMessageColumn.isUnchangedToastedValue(raw) || placeholder.matches(raw)) {
            return placeholder.text();
        }
        if (raw instanceof String s) {
            return s;
        }
        if (raw instanceof BigDecimal money) {
            return money.toPlainString();
        }
        if (raw instanceof PGpoint p) {
            return "(" + Double.toString(p.x) + "," + Double.toString(p.y) + ")";
        }
        if (raw instanceof PGobject o) {
            return o.getValue();
        }
        if (raw instanceof Boolean b) {
            // Only a bit(1) column's DEFAULT is parsed into a boolean by the connector.
            return b ? "1" : "0";
        }
        throw new IllegalArgumentException("unexpected value of type " + raw.getClass().getName() + " for a "
                + "bit string, money, point or range column");
    }
}
