package dev.scry.backfill.source;

import java.time.LocalDate;
import java.util.Calendar;
import java.util.GregorianCalendar;
import java.util.Properties;

import org.apache.kafka.connect.data.SchemaBuilder;
import org.postgresql.PGStatement;

import io.debezium.spi.converter.CustomConverter;
import io.debezium.spi.converter.RelationalColumn;

/**
 * Hands {@code date} columns over as PostgreSQL text. Debezium's own date conversion goes through
 * {@code java.sql.Date.toLocalDate()} during the snapshot, which drops the era (44 BC becomes
 * 44 AD) and shifts dates in the Julian/Gregorian gap of October 1582; PostgreSQL uses the
 * proleptic Gregorian calendar throughout. Here the snapshot's {@code java.sql.Date} is read back
 * through the same hybrid calendar pgjdbc built it with, which returns the fields the server
 * printed, and the stream's {@code LocalDate} (already proleptic) is printed as is.
 */
public final class DateTextConverter implements CustomConverter<SchemaBuilder, RelationalColumn> {

    static final String SCHEMA_NAME = "dev.scry.backfill.DateText";

    // pg_type.dat's fixed OID of date: a domain over date is named for the domain but carries
    // its root type's OID as native type (see PlainTextConverter.ROOT_OIDS).
    private static final int DATE_OID = 1082;

    // The sentinels Debezium's PostgreSQL connector uses for 'infinity' dates in the stream.
    private static final LocalDate POSITIVE_INFINITY = LocalDate.parse("-5877611-06-21");
    private static final LocalDate NEGATIVE_INFINITY = LocalDate.parse("-5877611-06-22");

    @Override
    public void configure(Properties props) {
    }

    @Override
    public void converterFor(RelationalColumn column, ConverterRegistration<SchemaBuilder> registration) {
        if (takes(column.typeName(), column.nativeType())) {
            registration.register(SchemaBuilder.string().name(SCHEMA_NAME).optional(), DateTextConverter::toText);
        }
    }

    static boolean takes(String typeName, int nativeType) {
        return "date".equals(typeName) || nativeType == DATE_OID;
    }

    static String toText(Object raw) {
        if (raw == null) {
            return null;
        }
        if (raw instanceof java.sql.Date d) {
            if (d.getTime() == PGStatement.DATE_POSITIVE_INFINITY) {
                return "infinity";
            }
            if (d.getTime() == PGStatement.DATE_NEGATIVE_INFINITY) {
                return "-infinity";
            }
            Calendar calendar = new GregorianCalendar();
            calendar.setTime(d);
            int year = calendar.get(Calendar.YEAR);
            String text = String.format("%04d-%02d-%02d", year, calendar.get(Calendar.MONTH) + 1, calendar.get(Calendar.DAY_OF_MONTH));
            return calendar.get(Calendar.ERA) == GregorianCalendar.BC ? text + " BC" : text;
        }
        if (raw instanceof LocalDate d) {
            if (d.equals(POSITIVE_INFINITY)) {
                return "infinity";
            }
            if (d.equals(NEGATIVE_INFINITY)) {
                return "-infinity";
            }
            return ValueText.date(d);
        }
        if (raw instanceof String s) {
            return s;
        }
        if (raw instanceof Integer days) {
            // Only a column's DEFAULT reaches us like this: the connector parses it into epoch days
            // to build the field's schema when a table with a date default is described.
            return toText(LocalDate.ofEpochDay(days));
        }
        throw new IllegalArgumentException("unexpected value of type " + raw.getClass().getName() + " for a date column");
    }
}
