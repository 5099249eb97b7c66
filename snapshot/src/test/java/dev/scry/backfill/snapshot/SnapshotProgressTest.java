package dev.scry.backfill.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.model.TableId;

class SnapshotProgressTest {

    @Test
    void progressLinesShowRowsOfTheEstimateRateAndEta() {
        TableId orders = new TableId("public", "orders");
        SnapshotProgress p = new SnapshotProgress(List.of(orders));
        p.add(Map.of(orders, new TableCounts(500, 0, 0, 0, 0)));
        // No estimate read: the bar counts what was copied so far as the whole.
        List<String> lines = p.lines(System.nanoTime() + 1_000_000_000L);
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).startsWith("public.orders [##############################] 500/500").contains("rows/s").contains("ETA -");

        p.estimate(orders, 2000);
        String line = p.lines(System.nanoTime() + 1_000_000_000L).get(0);
        assertThat(line).startsWith("public.orders [#######.......................] 500/2,000").matches(".*ETA [0-9]+ s$");
    }
}
