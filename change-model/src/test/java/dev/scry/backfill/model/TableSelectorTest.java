package dev.scry.backfill.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TableSelectorTest {

    @Test
    void exactNamesAreNotPatterns() {
        TableSelector s = TableSelector.parse("\"Sales Dept\".\"Order \"\"Lines\"\"\"");
        assertThat(s.isPattern()).isFalse();
        assertThat(s.table()).isEqualTo(new TableId("Sales Dept", "Order \"Lines\""));
        assertThat(TableSelector.parse("public.\"*\"").isPattern()).isFalse();
    }

    @Test
    void unquotedStarsMatchAnyRun() {
        TableSelector all = TableSelector.parse("public.*");
        assertThat(all.isPattern()).isTrue();
        assertThat(all.matches(new TableId("public", "Orders v2.x"))).isTrue();
        assertThat(all.matches(new TableId("other", "orders"))).isFalse();
        TableSelector prefix = TableSelector.parse("sales.order_*");
        assertThat(prefix.matches(new TableId("sales", "order_lines"))).isTrue();
        assertThat(prefix.matches(new TableId("sales", "orderlines"))).isFalse();
        assertThat(TableSelector.parse("\"Sales Dept\".*").matches(new TableId("Sales Dept", "x"))).isTrue();
        assertThat(prefix.nameLike()).isEqualTo("order\\_%");
    }

    @Test
    void unqualifiedIsRefused() {
        assertThatThrownBy(() -> TableSelector.parse("orders")).hasMessageContaining("not schema-qualified");
    }
}
