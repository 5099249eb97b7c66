package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;

class TransactionBatcherTest {

    private final TransactionBatcher<String> batcher = new TransactionBatcher<>(5);
    private final List<PendingBatch<String>> out = new ArrayList<>();
    private long lsn;

    @Test
    void holdsAnOpenTransactionUntilItsEnd() {
        offer(begin("7"), change("7", "a"), change("7", "b"));
        assertThat(out).isEmpty();
        assertThat(batcher.drain()).isEmpty();

        offer(end("7"));
        out.addAll(batcher.drain());

        assertThat(out).hasSize(1);
        PendingBatch<String> batch = out.get(0);
        assertThat(rows(batch)).containsExactly("a", "b");
        assertThat(batch.tickets()).containsExactly("begin 7", "a", "b", "end 7");
        assertThat(batch.batch().end().lsn()).isEqualTo(new Lsn(lsn));
        assertThat(batch.batch().transactions()).isEqualTo(1);
        assertThat(batch.batch().partialTransaction()).isFalse();
    }

    @Test
    void collectsSeveralTransactionsInOneBatch() {
        offer(begin("1"), change("1", "a"), end("1"), begin("2"), change("2", "b"), end("2"));
        out.addAll(batcher.drain());

        assertThat(out).hasSize(1);
        assertThat(rows(out.get(0))).containsExactly("a", "b");
        assertThat(out.get(0).batch().transactions()).isEqualTo(2);
    }

    @Test
    void cutsAtMaxRowsOnlyOnTransactionBoundaries() {
        offer(begin("1"), change("1", "a"), change("1", "b"), change("1", "c"), end("1"),
                begin("2"), change("2", "d"), change("2", "e"));
        // 3 complete + 2 open reach max-rows: the complete transaction goes, the open one waits.
        assertThat(out).hasSize(1);
        assertThat(rows(out.get(0))).containsExactly("a", "b", "c");
        offer(end("2"));
        out.addAll(batcher.drain());
        assertThat(rows(out.get(1))).containsExactly("d", "e");
    }

    @Test
    void splitsATransactionLargerThanMaxRows() {
        offer(begin("9"), change("9", "a"), change("9", "b"), change("9", "c"), change("9", "d"), change("9", "e"));
        long lastOfFirstPart = lsn;
        offer(change("9", "f"), change("9", "g"));

        assertThat(out).hasSize(1);
        PendingBatch<String> part = out.get(0);
        assertThat(rows(part)).containsExactly("a", "b", "c", "d", "e");
        assertThat(part.batch().partialTransaction()).isTrue();
        assertThat(part.batch().transactions()).isZero();
        assertThat(part.batch().end().lsn()).as("the position of the part's last change").isEqualTo(new Lsn(lastOfFirstPart));
        assertThat(part.tickets()).containsExactly("begin 9", "a", "b", "c", "d", "e");

        offer(end("9"));
        out.addAll(batcher.drain());
        assertThat(rows(out.get(1))).containsExactly("f", "g");
        assertThat(out.get(1).batch().partialTransaction()).isFalse();
        assertThat(out.get(1).batch().transactions()).isEqualTo(1);
    }

    @Test
    void heartbeatsAndMarkersOutsideTransactionsMoveThePosition() {
        offer(begin("1"), change("1", "a"), end("1"), heartbeat(), marker("m1"));
        out.addAll(batcher.drain());

        assertThat(out).hasSize(1);
        assertThat(out.get(0).batch().end().lsn()).isEqualTo(new Lsn(lsn));
        assertThat(out.get(0).batch().markers()).containsExactly("m1");
        assertThat(out.get(0).tickets()).endsWith("heartbeat", "marker m1");
    }

    @Test
    void positionDoesNotMoveInsideAnOpenTransaction() {
        offer(begin("1"), change("1", "a"), end("1"));
        long endOfFirst = lsn;
        offer(begin("2"), change("2", "b"), heartbeat());
        out.addAll(batcher.drain());

        assertThat(out).hasSize(1);
        assertThat(out.get(0).batch().end().lsn()).isEqualTo(new Lsn(endOfFirst));
        assertThat(out.get(0).tickets()).doesNotContain("heartbeat");
    }

    @Test
    void markerInsideATransactionCountsWhenTheTransactionEnds() {
        offer(begin("5"), marker("caught-up"));
        assertThat(batcher.drain()).isEmpty();

        offer(end("5"));
        out.addAll(batcher.drain());

        assertThat(out.get(0).batch().markers()).containsExactly("caught-up");
    }

    @Test
    void snapshotRowsAreCutAtMaxRowsAndNeverShareABatchWithStreamedChanges() {
        for (String v : List.of("r1", "r2", "r3", "r4", "r5", "r6")) {
            offer(SourceItem.change(event(v), null, position(Phase.SNAPSHOT), v));
        }
        assertThat(out).hasSize(1);
        assertThat(rows(out.get(0))).containsExactly("r1", "r2", "r3", "r4", "r5");

        offer(begin("1"));
        assertThat(out).as("the BEGIN of a streamed transaction flushes the snapshot rows").hasSize(2);
        assertThat(rows(out.get(1))).containsExactly("r6");
    }

    @Test
    void changeOfAnotherTransactionWhileOneIsOpenIsRefused() {
        offer(begin("1"), change("1", "a"));
        assertThatThrownBy(() -> offer(change("2", "b"))).isInstanceOf(PipelineFailure.class).hasMessageContaining("out of order");
    }

    @Test
    void streamResumedInsideATransactionIsTreatedAsThatTransaction() {
        offer(change("4", "x"), change("4", "y"), end("4"));
        out.addAll(batcher.drain());

        assertThat(rows(out.get(0))).containsExactly("x", "y");
        assertThat(out.get(0).batch().transactions()).isEqualTo(1);
    }

    @SafeVarargs
    private void offer(SourceItem<String>... items) {
        for (SourceItem<String> item : items) {
            out.addAll(batcher.offer(item));
        }
    }

    private SourceItem<String> begin(String tx) {
        return SourceItem.boundary(SourceItem.Kind.BEGIN, tx, position(Phase.STREAMING), "begin " + tx);
    }

    private SourceItem<String> end(String tx) {
        return SourceItem.boundary(SourceItem.Kind.END, tx, position(Phase.STREAMING), "end " + tx);
    }

    @Test
    void aNewColumnLayoutStartsANewBatchAfterTheCompleteTransactionsBeforeIt() {
        TransactionBatcher<String> b = new TransactionBatcher<>(100);
        b.offer(begin("1"));
        b.offer(change("1", "a"));
        b.offer(end("1"));
        b.offer(begin("2"));
        ChangeEvent altered = new ChangeEvent(new TableId("public", "t"), Op.INSERT, null,
                new RowImage(List.of("v", "added"), new String[] {"b", "x"}, null));
        List<PendingBatch<String>> before = b.offer(SourceItem.change(altered, "2", position(Phase.STREAMING), "b"));
        b.offer(end("2"));
        List<PendingBatch<String>> after = b.drain();

        assertThat(before).hasSize(1);
        assertThat(rows(before.get(0))).containsExactly("a");
        assertThat(after).hasSize(1);
        assertThat(rows(after.get(0))).containsExactly("b");
    }

    private SourceItem<String> change(String tx, String value) {
        return SourceItem.change(event(value), tx, position(Phase.STREAMING), value);
    }

    private SourceItem<String> heartbeat() {
        return SourceItem.of(SourceItem.Kind.HEARTBEAT, position(Phase.STREAMING), "heartbeat");
    }

    private SourceItem<String> marker(String content) {
        return SourceItem.marker(content, position(Phase.STREAMING), "marker " + content);
    }

    private java.util.function.Supplier<SourcePosition> position(Phase phase) {
        lsn += 10;
        SourcePosition position = new SourcePosition(phase, new Lsn(lsn), Map.of("lsn", lsn));
        return () -> position;
    }

    // One layout object per engine schema, as RecordConverter hands them out.
    private static final List<String> LAYOUT = List.of("v");

    private static ChangeEvent event(String value) {
        return new ChangeEvent(new TableId("public", "t"), Op.INSERT, null, new RowImage(LAYOUT, new String[] {value}, null));
    }

    private static List<String> rows(PendingBatch<String> batch) {
        return batch.batch().events().stream().map(e -> e.after().value(0)).toList();
    }
}
