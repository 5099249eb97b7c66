package dev.scry.backfill.source;

import java.math.BigDecimal;
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
        if (TYPES.contains(column.typeName())) {
            registration.register(SchemaBuilder.string().name(SCHEMA_NAME).optional(), this::toText);
        }
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
