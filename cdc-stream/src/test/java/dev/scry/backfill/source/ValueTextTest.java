package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.junit.jupiter.api.Test;
import org.postgresql.PGStatement;

import dev.scry.backfill.error.PipelineFailure;

class ValueTextTest {

    private static Schema named(Schema.Type type, String name) {
        return new SchemaBuilder(type).name(name).build();
    }

    @Test
    void datesIncludingBeforeChristAndInfinity() {
        Schema date = named(Schema.Type.INT32, "io.debezium.time.Date");
        assertThat(ValueText.of(date, (int) LocalDate.of(2024, 2, 29).toEpochDay())).isEqualTo("2024-02-29");
        // ISO year 0 is 1 BC; -43 is 44 BC.
        assertThat(ValueText.of(date, (int) LocalDate.of(-43, 3, 15).toEpochDay())).isEqualTo("0044-03-15 BC");
        assertThat(ValueText.of(date, (int) LocalDate.of(0, 1, 1).toEpochDay())).isEqualTo("0001-01-01 BC");
        assertThat(ValueText.epochDay(LocalDate.parse("-5877611-06-21").toEpochDay())).isEqualTo("infinity");
        assertThat(ValueText.epochDay(LocalDate.parse("-5877611-06-22").toEpochDay())).isEqualTo("-infinity");
    }

    @Test
    void timesKeepMicrosecondsAndMidnightAtTheEnd() {
        Schema time = named(Schema.Type.INT64, "io.debezium.time.MicroTime");
        assertThat(ValueText.of(time, 13L * 3_600_000_000L + 1L)).isEqualTo("13:00:00.000001");
        assertThat(ValueText.of(time, 86_400_000_000L)).isEqualTo("24:00:00");
    }

    @Test
    void timestampsFromMicrosAndMillisIncludingBeforeTheEpochAndInfinity() {
        Schema micro = named(Schema.Type.INT64, "io.debezium.time.MicroTimestamp");
        Schema milli = named(Schema.Type.INT64, "io.debezium.time.Timestamp");
        assertThat(ValueText.of(micro, 1L)).isEqualTo("1970-01-01 00:00:00.000001");
        assertThat(ValueText.of(micro, -1L)).isEqualTo("1969-12-31 23:59:59.999999");
        assertThat(ValueText.of(milli, 1_500L)).isEqualTo("1970-01-01 00:00:01.500");
        assertThat(ValueText.of(micro, PGStatement.DATE_POSITIVE_INFINITY)).isEqualTo("infinity");
        assertThat(ValueText.of(micro, PGStatement.DATE_NEGATIVE_INFINITY)).isEqualTo("-infinity");
        long bc = (LocalDate.of(-43, 3, 15).toEpochDay() * 86_400L + 36_000L) * 1_000_000L + 500_000L;
        assertThat(ValueText.of(micro, bc)).isEqualTo("0044-03-15 10:00:00.500 BC");
    }

    @Test
    void zonedTimestampsWithSignedYearsBecomeWhatPostgresReads() {
        Schema zoned = named(Schema.Type.STRING, "io.debezium.time.ZonedTimestamp");
        assertThat(ValueText.of(zoned, "2024-01-01T10:00:00.123456Z")).isEqualTo("2024-01-01T10:00:00.123456Z");
        assertThat(ValueText.of(zoned, "-0043-03-15T10:00:00.5Z")).isEqualTo("0044-03-15 10:00:00.500+00 BC");
        assertThat(ValueText.of(zoned, "+12345-06-07T08:09:10Z")).isEqualTo("12345-06-07 08:09:10+00");
        assertThat(ValueText.of(zoned, "infinity")).isEqualTo("infinity");
        assertThat(ValueText.of(zoned, "-infinity")).isEqualTo("-infinity");
    }

    @Test
    void floatsRoundTripIncludingSpecialValues() {
        assertThat(ValueText.of(Schema.FLOAT64_SCHEMA, Double.NaN)).isEqualTo("NaN");
        assertThat(ValueText.of(Schema.FLOAT64_SCHEMA, Double.NEGATIVE_INFINITY)).isEqualTo("-Infinity");
        assertThat(ValueText.of(Schema.FLOAT64_SCHEMA, -0.0d)).isEqualTo("-0.0");
        assertThat(Double.parseDouble(ValueText.of(Schema.FLOAT64_SCHEMA, 0.1 + 0.2))).isEqualTo(0.1 + 0.2);
        assertThat(ValueText.of(Schema.FLOAT32_SCHEMA, 3.4028235e38f)).isEqualTo("3.4028235E38");
        assertThat(ValueText.of(Schema.FLOAT32_SCHEMA, Float.POSITIVE_INFINITY)).isEqualTo("Infinity");
    }

    @Test
    void scalarsAndNull() {
        assertThat(ValueText.of(Schema.BOOLEAN_SCHEMA, true)).isEqualTo("true");
        assertThat(ValueText.of(Schema.INT64_SCHEMA, Long.MIN_VALUE)).isEqualTo("-9223372036854775808");
        assertThat(ValueText.of(Schema.STRING_SCHEMA, "")).isEmpty();
        assertThat(ValueText.of(Schema.OPTIONAL_STRING_SCHEMA, null)).isNull();
    }

    @Test
    void bytesBecomeHexIncludingZeroBytes() {
        assertThat(ValueText.of(Schema.BYTES_SCHEMA, new byte[] {0, (byte) 0xff, 0})).isEqualTo("\\x00ff00");
        assertThat(ValueText.of(Schema.BYTES_SCHEMA, ByteBuffer.wrap(new byte[] {1, 2}))).isEqualTo("\\x0102");
        assertThat(ValueText.of(Schema.BYTES_SCHEMA, new byte[0])).isEqualTo("\\x");
    }

    @Test
    void arraysQuoteEveryElementAndKeepNulls() {
        Schema texts = SchemaBuilder.array(Schema.OPTIONAL_STRING_SCHEMA).build();
        assertThat(ValueText.of(texts, Arrays.asList("a,b", "c\"d", null, "", "NULL", "back\\slash")))
                .isEqualTo("{\"a,b\",\"c\\\"d\",NULL,\"\",\"NULL\",\"back\\\\slash\"}");
        Schema ints = SchemaBuilder.array(Schema.OPTIONAL_INT32_SCHEMA).build();
        assertThat(ValueText.of(ints, List.of(List.of(1, 2), List.of(3, 4)))).isEqualTo("{{\"1\",\"2\"},{\"3\",\"4\"}}");
        assertThat(ValueText.of(ints, List.of())).isEqualTo("{}");
    }

    @Test
    void unsupportedShapesFailLoudly() {
        Schema struct = SchemaBuilder.struct().field("x", Schema.FLOAT64_SCHEMA).build();
        assertThatThrownBy(() -> ValueText.of(struct, new Struct(struct).put("x", 1.0))).isInstanceOf(PipelineFailure.class);
    }
}
