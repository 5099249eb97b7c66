package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.postgresql.PGStatement;

import io.debezium.connector.postgresql.UnchangedToastedReplicationMessageColumn;

import dev.scry.backfill.model.TableId;

/** The pieces that sit between Debezium's conversions and ours: placeholders, dates, arrays, table filters. */
class ConvertersTest {

    @Test
    void snapshotDatesKeepTheirEraAndInfinity() {
        // pgjdbc builds java.sql.Date through the JVM's hybrid Julian/Gregorian calendar, with an era.
        java.util.GregorianCalendar bc = new java.util.GregorianCalendar(44, java.util.Calendar.MARCH, 15);
        bc.set(java.util.Calendar.ERA, java.util.GregorianCalendar.BC);
        assertThat(DateTextConverter.toText(new java.sql.Date(bc.getTimeInMillis()))).isEqualTo("0044-03-15 BC");
        assertThat(DateTextConverter.toText(java.sql.Date.valueOf("2024-02-29"))).isEqualTo("2024-02-29");
        assertThat(DateTextConverter.toText(new java.sql.Date(PGStatement.DATE_POSITIVE_INFINITY))).isEqualTo("infinity");
        assertThat(DateTextConverter.toText(new java.sql.Date(PGStatement.DATE_NEGATIVE_INFINITY))).isEqualTo("-infinity");
    }

    @Test
    void streamedDatesArePrintedProleptically() {
        assertThat(DateTextConverter.toText(LocalDate.of(-43, 3, 15))).isEqualTo("0044-03-15 BC");
        assertThat(DateTextConverter.toText(LocalDate.of(1582, 10, 10))).isEqualTo("1582-10-10");
        assertThat(DateTextConverter.toText(LocalDate.parse("-5877611-06-21"))).isEqualTo("infinity");
        assertThat(DateTextConverter.toText(null)).isNull();
        // A column DEFAULT arrives as epoch days when the connector describes the table.
        assertThat(DateTextConverter.toText(19782)).isEqualTo("2024-02-29");
        assertThatThrownBy(() -> DateTextConverter.toText(42L)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bitStringsMoneyPointsAndRangesBecomeTheirText() {
        PlainTextConverter c = new PlainTextConverter();
        java.util.Properties props = new java.util.Properties();
        props.setProperty(PlainTextConverter.PLACEHOLDER, "__ph");
        c.configure(props);
        assertThat(c.toText("01000")).isEqualTo("01000");
        assertThat(c.toText(new java.math.BigDecimal("-92233720368547758.08"))).isEqualTo("-92233720368547758.08");
        assertThat(c.toText(new org.postgresql.geometric.PGpoint(-1.5, 1e-300))).isEqualTo("(-1.5,1.0E-300)");
        assertThat(c.toText("__ph")).isEqualTo("__ph");
        assertThat(c.toText(null)).isNull();
        assertThatThrownBy(() -> c.toText(42)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void domainsAreRecognisedByTheirRootTypesOid() {
        // The connector names a domain column by the domain, and gives it the root type's OID.
        assertThat(PlainTextConverter.takes("place", 600)).isTrue();
        assertThat(PlainTextConverter.takes("Dom \"vb\"", 1562)).isTrue();
        assertThat(PlainTextConverter.takes("varbit", 1562)).isTrue();
        assertThat(PlainTextConverter.takes("positive", 23)).isFalse();
        assertThat(DateTextConverter.takes("day", 1082)).isTrue();
        assertThat(DateTextConverter.takes("timestamp", 1114)).isFalse();
    }

    @Test
    void placeholderMatchesEveryShapeDebeziumGivesIt() {
        ToastPlaceholder p = new ToastPlaceholder("__ph");
        byte[] bytes = "__ph".getBytes(StandardCharsets.UTF_8);
        List<Integer> ints = new ArrayList<>();
        List<Long> longs = new ArrayList<>();
        for (byte b : bytes) {
            ints.add((int) b);
            longs.add((long) b);
        }
        assertThat(p.matches("__ph")).isTrue();
        assertThat(p.matches(bytes)).isTrue();
        assertThat(p.matches(java.nio.ByteBuffer.wrap(bytes))).isTrue();
        assertThat(p.matches(List.of("__ph"))).isTrue();
        assertThat(p.matches(List.<Object>of(bytes))).isTrue();
        assertThat(p.matches(ints)).isTrue();
        assertThat(p.matches(longs)).isTrue();
        assertThat(p.matches(List.of(UUID.nameUUIDFromBytes(bytes).toString()))).isTrue();
        assertThat(p.matches("__ph ")).isFalse();
        assertThat(p.matches(List.of("__ph", "__ph"))).isFalse();
        assertThat(p.matches(7)).isFalse();
        assertThat(ToastPlaceholder.random().text()).isNotEqualTo(ToastPlaceholder.random().text());
    }

    @Test
    void arraysPassTheServersLiteralAndUnchangedToastAsThePlaceholder() {
        ArrayTextConverter converter = new ArrayTextConverter();
        Properties props = new Properties();
        props.setProperty(ArrayTextConverter.PLACEHOLDER, "__ph");
        converter.configure(props);

        assertThat(converter.toText(null)).isNull();
        assertThat(converter.toText(UnchangedToastedReplicationMessageColumn.UNCHANGED_TOAST_VALUE)).isEqualTo("__ph");
        assertThat(converter.toText(UnchangedToastedReplicationMessageColumn.UNCHANGED_INT_ARRAY_TOAST_VALUE)).isEqualTo("__ph");
        assertThatThrownBy(() -> converter.toText(List.of(1, 2))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tableFilterMatchesExactlyTheTable() {
        TableId odd = new TableId("Sales, Dept.", "Order \"Lines\" (v2) *ü*");
        Pattern p = Pattern.compile(EngineProperties.exactTableRegex(odd));
        assertThat(p.matcher("Sales, Dept..Order \"Lines\" (v2) *ü*").matches()).isTrue();
        assertThat(p.matcher("Sales, DeptX.Order \"Lines\" (v2) *ü*").matches()).isFalse();
        assertThat(p.matcher("Sales, Dept..Order \"Lines\" (v2) *ü*x").matches()).isFalse();
        assertThat(Pattern.compile(EngineProperties.exactTableRegex(new TableId("public", "orders"))).matcher("public_orders").matches()).isFalse();
    }
}
