package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ColumnSpec;

/** Which column types are accepted, by what they are underneath their domains and arrays. */
class SupportedTypesTest {

    @Test
    void domainsOverConvertedTypesAreCarried() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("v", "\"dom vb\"", false, "varbit", false))).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("m", "cash", false, "money", false))).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("p", "place", false, "point", false))).isEmpty();
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("r", "span", false, "int8range", false))).isEmpty();
    }

    @Test
    void timetzIsRefusedByTheDebeziumReaderButItsArraysAreCarried() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("at", "time with time zone", false, "timetz", false), true))
                .hasValueSatisfying(why -> assertThat(why).contains("drops its offset"));
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("at", "time with time zone[]", false, "timetz", true), true)).isEmpty();
    }

    @Test
    void timetzIsCarriedByThePgoutputReader() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("at", "time with time zone", false, "timetz", false))).isEmpty();
    }

    @Test
    void otherTypesAreRefusedNamingThem() {
        assertThat(SupportedTypes.whyUnsupported(new ColumnSpec("b", "box", false, "box", false)))
                .hasValueSatisfying(why -> assertThat(why).contains("box"));
    }
}
