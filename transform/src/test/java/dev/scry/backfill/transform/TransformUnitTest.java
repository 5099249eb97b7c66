package dev.scry.backfill.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

class TransformUnitTest {

    private static final TableSpec ORDERS = new TableSpec(new TableId("public", "orders"),
            List.of(new ColumnSpec("id", "integer", true, "int4", false), new ColumnSpec("kind", "text", false, "text", false),
                    new ColumnSpec("tenant_id", "integer", false, "int4", false)), List.of("id"));

    @Test
    void columnSelectorsQuoteAndGlobLikeSql() {
        TableSpec t = new TableSpec(new TableId("Sales Dept", "Order \"Lines\""),
                List.of(new ColumnSpec("E-Mail", "text", false, "text", false)), List.of());
        assertThat(ColumnSelector.parse("\"Sales Dept\".\"Order \"\"Lines\"\"\".\"E-Mail\"").matches(t, t.columns().get(0))).isTrue();
        assertThat(ColumnSelector.parse("*.*.\"E-Mail\"").matches(t, t.columns().get(0))).isTrue();
        assertThat(ColumnSelector.parse("*.*.e-mail").matches(t, t.columns().get(0))).as("unquoted folds to lower case").isFalse();
        assertThatThrownBy(() -> ColumnSelector.parse("users.email")).hasMessageContaining("schema.table.column");
    }

    @Test
    void timestampsAndDatesTruncateInTheirTextKeepingOffsetAndEra() {
        assertThat(ValueTransforms.Generalize.truncateTime("2024-03-10 23:30:12.5+05:30", "day")).isEqualTo("2024-03-10 00:00:00+05:30");
        assertThat(ValueTransforms.Generalize.truncateTime("2024-03-10 23:30:12", "hour")).isEqualTo("2024-03-10 23:00:00");
        assertThat(ValueTransforms.Generalize.truncateTime("2024-03-10", "month")).isEqualTo("2024-03-01");
        assertThat(ValueTransforms.Generalize.truncateTime("0044-03-15 BC", "year")).isEqualTo("0044-01-01 BC");
        assertThat(ValueTransforms.Generalize.truncateTime("infinity", "day")).isEqualTo("infinity");
    }

    @Test
    void filterRowsTurnsUpdatesOutOfTheFilterIntoDeletes() {
        TransformChain chain = TransformChain.create(List.of(new TransformConfig("filter-rows",
                Map.of("table", "public.orders", "where", "kind == 'buy' || tenant_id == 42"), "transforms[0]")), List.of(ORDERS));
        ChangeEvent in = update("1", "sell", "42");
        ChangeEvent out = update("2", "hold", "7");
        ChangeEvent nullTenant = update("3", "hold", null);

        assertThat(chain.apply(in)).isSameAs(in);
        assertThat(chain.apply(out).op()).isEqualTo(Op.DELETE);
        assertThat(chain.apply(out).key().value("id")).isEqualTo("2");
        assertThat(chain.apply(nullTenant).op()).as("a comparison with NULL is not true").isEqualTo(Op.DELETE);
        assertThat(chain.apply(new ChangeEvent(ORDERS.id(), Op.INSERT, null, row("4", "hold", "1")))).isNull();
    }

    @Test
    void hashMatchesPgcryptoHmac() {
        // encode(hmac('alice@example.com', 'k', 'sha256'), 'hex') in PostgreSQL.
        ValueTransforms.Hash hash = new ValueTransforms.Hash(List.of(ColumnSelector.parse("public.orders.kind")), "k");
        assertThat(hash.transform("alice@example.com", null)).hasSize(64).matches("[0-9a-f]+")
                .isEqualTo(new ValueTransforms.Hash(List.of(ColumnSelector.parse("a.b.c")), "k").transform("alice@example.com", null));
        assertThat(hash.toString()).doesNotContain("k)");
    }

    @Test
    void maskKeepsTheLastCharacters() {
        ValueTransforms.Mask mask = new ValueTransforms.Mask(List.of(ColumnSelector.parse("a.b.c")), 4);
        assertThat(mask.transform("4111111111111111", null)).isEqualTo("************1111");
        assertThat(mask.transform("ab", null)).isEqualTo("ab");
        assertThat(mask.transform("ünïcødé", null)).isEqualTo("***cødé");
    }

    private static ChangeEvent update(String id, String kind, String tenant) {
        return new ChangeEvent(ORDERS.id(), Op.UPDATE, null, row(id, kind, tenant));
    }

    private static RowImage row(String id, String kind, String tenant) {
        return new RowImage(List.of("id", "kind", "tenant_id"), new String[] {id, kind, tenant}, null);
    }
}
