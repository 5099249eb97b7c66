package dev.scry.backfill.source;

import java.sql.Array;
import java.sql.Types;
import java.util.Properties;

import org.apache.kafka.connect.data.SchemaBuilder;

import io.debezium.connector.postgresql.UnchangedToastedReplicationMessageColumn;
import io.debezium.spi.converter.CustomConverter;
import io.debezium.spi.converter.RelationalColumn;

/**
 * Hands array columns over as the array literal PostgreSQL itself printed. Both the snapshot
 * (pgjdbc's {@code getArray}) and the stream (Debezium builds a pgjdbc array from pgoutput's text)
 * give us a {@code java.sql.Array} that still holds that text; Debezium's element-by-element
 * conversion would lose values (a NaN element empties a numeric[], BC and pre-1582 dates shift,
 * times lose 24:00:00 and microseconds, multi-dimensional arrays flatten).
 *
 * <p>An unchanged TOASTed array arrives as Debezium's marker for one instead; it is passed on as
 * the placeholder text so the record converter can leave the shadow's value alone.
 */
public final class ArrayTextConverter implements CustomConverter<SchemaBuilder, RelationalColumn> {

    static final String SCHEMA_NAME = "dev.scry.backfill.ArrayText";
    static final String PLACEHOLDER = "placeholder";

    private ToastPlaceholder placeholder;

    @Override
    public void configure(Properties props) {
        String text = props.getProperty(PLACEHOLDER);
        if (text == null) {
            throw new IllegalStateException("ArrayTextConverter needs the '" + PLACEHOLDER + "' property");
        }
        placeholder = new ToastPlaceholder(text);
    }

    @Override
    public void converterFor(RelationalColumn column, ConverterRegistration<SchemaBuilder> registration) {
        if (column.jdbcType() == Types.ARRAY || column.typeName().startsWith("_")) {
            registration.register(SchemaBuilder.string().name(SCHEMA_NAME).optional(), this::toText);
        }
    }

    String toText(Object raw) {
        if (raw == null) {
            return null;
        }
        if (raw instanceof Array) {
            // pgjdbc's PgArray keeps the server's text form and returns it from toString().
            return raw.toString();
        }
        if (UnchangedToastedReplicationMessageColumn.isUnchangedToastedValue(raw) || placeholder.matches(raw)) {
            return placeholder.text();
        }
        throw new IllegalArgumentException("unexpected value of type " + raw.getClass().getName() + " for an array column");
    }
}
