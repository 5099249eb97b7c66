package dev.scry.backfill.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;

class DeadLetterCodecTest {

    private static final TableId TABLE = new TableId("Sales Dept", "Order \"Lines\"");

    @Test
    void roundTripKeepsValuesNullsAndUnchangedColumns() {
        BitSet unchanged = new BitSet();
        unchanged.set(2);
        RowImage after = new RowImage(List.of("id", "note", "blob", "empty"), new String[] {"42", "ünï \"q\" \n", null, ""}, unchanged);
        RowImage old = new RowImage(List.of("id", "note", "blob", "empty"), new String[] {"42", null, "\\x00", ""}, null);
        ChangeEvent update = new ChangeEvent(TABLE, Op.UPDATE, old, after);

        ChangeEvent back = DeadLetterCodec.decode(DeadLetterCodec.encode(update));

        assertThat(back.table()).isEqualTo(TABLE);
        assertThat(back.op()).isEqualTo(Op.UPDATE);
        assertThat(back.after().value("note")).isEqualTo("ünï \"q\" \n");
        assertThat(back.after().value("empty")).isEmpty();
        assertThat(back.after().isUnchanged(back.after().columns().indexOf("blob"))).isTrue();
        assertThat(back.key().value("note")).isNull();
        assertThat(back.key().value("blob")).isEqualTo("\\x00");
        assertThat(DeadLetterCodec.json(back)).isEqualTo(DeadLetterCodec.json(new ChangeEvent(TABLE, Op.UPDATE,
                new RowImage(back.key().columns(), values(back.key()), null), back.after())));
    }

    @Test
    void sizesAgainstJson() {
        for (int width : new int[] {3, 20}) {
            List<String> columns = new ArrayList<>();
            String[] values = new String[width];
            for (int i = 0; i < width; i++) {
                columns.add("column_" + i);
                values[i] = i % 3 == 0 ? Integer.toString(i * 1000) : "value " + i;
            }
            ChangeEvent insert = new ChangeEvent(new TableId("public", "orders"), Op.INSERT, null, new RowImage(columns, values, null));
            int flex = DeadLetterCodec.encode(insert).length;
            int json = DeadLetterCodec.json(insert).length();
            System.out.printf("[dlq] %d-column insert: %d bytes as FlexBuffers, %d bytes as JSON%n", width, flex, json);
            assertThat(flex).isPositive();
        }
    }

    private static String[] values(RowImage row) {
        String[] out = new String[row.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = row.value(i);
        }
        return out;
    }
}
