package dev.scry.backfill.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TableIdTest {

    @Test
    void unquotedPartsFoldToLowerCase() {
        assertThat(TableId.parse("Public.Orders")).isEqualTo(new TableId("public", "orders"));
    }

    @Test
    void quotedPartsKeepCaseSpacesDotsAndDoubledQuotes() {
        assertThat(TableId.parse("\"Sales Dept\".\"Order \"\"Lines\"\"\""))
                .isEqualTo(new TableId("Sales Dept", "Order \"Lines\""));
        assertThat(TableId.parse("\"a.b\".c")).isEqualTo(new TableId("a.b", "c"));
        assertThat(TableId.parse("s.\"Ünïcode ✓\"")).isEqualTo(new TableId("s", "Ünïcode ✓"));
    }

    @Test
    void quotedFormIsSafeToSplice() {
        TableId id = new TableId("x\"; DROP TABLE t; --", "Order \"Lines\"");
        assertThat(id.quoted()).isEqualTo("\"x\"\"; DROP TABLE t; --\".\"Order \"\"Lines\"\"\"");
        assertThat(TableId.parse(id.quoted())).isEqualTo(id);
    }

    @Test
    void readableFormQuotesOnlyWhereSqlWould() {
        assertThat(new TableId("public", "orders")).hasToString("public.orders");
        assertThat(new TableId("Other Schema", "Mixed")).hasToString("\"Other Schema\".\"Mixed\"");
    }

    @Test
    void rejectsNamesThatAreNotSchemaQualifiedOrMalformed() {
        for (String bad : new String[] {"orders", "a.b.c", "\"open.x", "a.", ".b", "a..b", "\"\".x", "a b.c", "\"x\"y.z"}) {
            assertThatThrownBy(() -> TableId.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void identifiersAndLiteralsDoubleTheirQuotes() {
        assertThat(Identifiers.quote("a\"b")).isEqualTo("\"a\"\"b\"");
        assertThat(Identifiers.literal("it's")).isEqualTo("'it''s'");
        assertThatThrownBy(() -> Identifiers.quote("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Identifiers.quote("nul\0")).isInstanceOf(IllegalArgumentException.class);
    }
}
