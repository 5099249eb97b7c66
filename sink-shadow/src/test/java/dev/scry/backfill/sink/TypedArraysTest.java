package dev.scry.backfill.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/** Integer columns are bound as arrays of numbers, with a text form of each statement for values that do not parse. */
class TypedArraysTest {

    private static final TableSpec SPEC = new TableSpec(new TableId("public", "t"), List.of(
            new ColumnSpec("id", "bigint", true, "int8", false),
            new ColumnSpec("n", "integer", false, "int4", false),
            new ColumnSpec("s", "smallint", false, "int2", false),
            new ColumnSpec("name", "text", false, "text", false),
            new ColumnSpec("d", "\"Id\"", false, "int8", false)), List.of("id"));

    @Test
    void integerColumnsAreBoundAsTheirBinaryArraysAndTheRestAsText() {
        ApplyStatements.Statement upsert = new ApplyStatements().upsert(SPEC);
        assertThat(upsert.sql()).contains("unnest(?::int8[], ?::int4[], ?::int2[], ?::text[], ?::text[])");
        assertThat(upsert.textSql()).contains("unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[])");
        assertThat(List.of(upsert.type(0), upsert.type(3), upsert.type(4))).containsExactly("int8", "text", "text");
        assertThat(upsert.asText().sql()).isEqualTo(upsert.textSql());
        assertThat(upsert.asText().type(0)).isEqualTo("text");

        ApplyStatements.Statement delete = new ApplyStatements().delete(SPEC);
        assertThat(delete.sql()).contains("unnest(?::int8[])").contains("t.\"id\" = CAST(u.\"id\" AS bigint)");
    }

    @Test
    void valuesParseAsTheirTypeOrNotAtAll() {
        assertThat(BatchApplier.parsed("int8", new String[] {"-9223372036854775808", null, "42"}))
                .containsExactly(Long.MIN_VALUE, null, 42L);
        assertThat(BatchApplier.parsed("int2", new String[] {"-32768", "+7"})).containsExactly((short) -32768, (short) 7);
        // What the server's int4in takes and Java does not, or what does not fit: the run goes as text.
        assertThat(BatchApplier.parsed("int4", new String[] {"1", " 2"})).isNull();
        assertThat(BatchApplier.parsed("int4", new String[] {"2147483648"})).isNull();
        assertThat(BatchApplier.parsed("int2", new String[] {"1.0"})).isNull();
        String[] texts = {"a", null};
        assertThat(BatchApplier.parsed("text", texts)).isSameAs(texts);
    }
}
