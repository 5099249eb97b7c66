package dev.scry.backfill.source;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableControl;
import dev.scry.backfill.model.TableId;

/**
 * Cuts the engine's record stream into shadow batches that end on source transaction boundaries.
 *
 * <p>Changes of an open transaction wait until its END record; complete transactions collect
 * until {@code maxRows} is reached or the engine's poll ends ({@link #drain()}). A transaction
 * larger than {@code maxRows} is the one exception: it is split, and each part's position points
 * at its last change so that a resume continues right after it. Snapshot rows belong to no
 * transaction and are cut at {@code maxRows}; they never share a batch with streamed changes.
 *
 * <p>A table's first row with a new column layout (the engine describes the table anew after a
 * schema change, and once per run) starts a new batch, so that the complete transactions before
 * it commit first: if the shadow cannot follow the change, the checkpoint stays right before it.
 */
final class TransactionBatcher<T> {

    private final int maxRows;

    // Complete work not yet handed out.
    private final List<ChangeEvent> ready = new ArrayList<>();
    private final List<T> readyTickets = new ArrayList<>();
    private final List<String> readyMarkers = new ArrayList<>();
    private final List<TableControl> readyControls = new ArrayList<>();
    private int readyTransactions;
    private Supplier<SourcePosition> readyPosition;
    private boolean readyHasSnapshotRows;

    // The transaction being received.
    private String openTransaction;
    private final List<ChangeEvent> open = new ArrayList<>();
    private final List<T> openTickets = new ArrayList<>();
    private final List<String> openMarkers = new ArrayList<>();
    private final List<TableControl> openControls = new ArrayList<>();
    private Supplier<SourcePosition> openPosition;

    // The row layout (by identity, one per engine schema) last seen for each table.
    private final Map<TableId, List<String>> layouts = new HashMap<>();

    TransactionBatcher(int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1");
        }
        this.maxRows = maxRows;
    }

    /** Takes the next item; returns the batches that must be applied before the next item. */
    List<PendingBatch<T>> offer(SourceItem<T> item) {
        List<PendingBatch<T>> out = new ArrayList<>(1);
        switch (item.kind()) {
            case CHANGE -> offerChange(item, out);
            case BEGIN -> {
                if (readyHasSnapshotRows) {
                    flushReady(out);
                }
                if (openTransaction != null && !openTransaction.equals(item.transactionId())) {
                    throw new PipelineFailure("transaction " + item.transactionId() + " began before transaction "
                            + openTransaction + " ended; the change stream is out of order");
                }
                openTransaction = item.transactionId();
                openTickets.add(item.ticket());
            }
            case END -> {
                if (openTransaction != null && !openTransaction.equals(item.transactionId())) {
                    throw new PipelineFailure("transaction " + item.transactionId() + " ended while transaction "
                            + openTransaction + " was open; the change stream is out of order");
                }
                ready.addAll(open);
                readyTickets.addAll(openTickets);
                readyTickets.add(item.ticket());
                readyMarkers.addAll(openMarkers);
                // A control takes effect after its batch's changes: the batch ends with its
                // transaction, so that no later change shares it.
                boolean controlled = !openControls.isEmpty();
                readyControls.addAll(openControls);
                readyTransactions++;
                readyPosition = item.positionSource();
                clearOpen();
                if (ready.size() >= maxRows || controlled) {
                    flushReady(out);
                }
            }
            case HEARTBEAT, MARKER, SKIP, CONTROL -> {
                if (openTransaction != null) {
                    // Inside a transaction the position must not move past its unapplied changes;
                    // a marker or a control inside one counts once the transaction is complete.
                    openTickets.add(item.ticket());
                    if (item.kind() == SourceItem.Kind.MARKER) {
                        openMarkers.add(item.marker());
                    }
                    if (item.kind() == SourceItem.Kind.CONTROL) {
                        openControls.add(item.control());
                    }
                }
                else {
                    readyTickets.add(item.ticket());
                    readyPosition = item.positionSource();
                    if (item.kind() == SourceItem.Kind.MARKER) {
                        readyMarkers.add(item.marker());
                    }
                    if (item.kind() == SourceItem.Kind.CONTROL) {
                        readyControls.add(item.control());
                        flushReady(out);
                    }
                }
            }
            default -> throw new IllegalStateException("unknown item kind " + item.kind());
        }
        return out;
    }

    private void offerChange(SourceItem<T> item, List<PendingBatch<T>> out) {
        boolean snapshotRow = item.transactionId() == null && openTransaction == null;
        if (snapshotRow) {
            ready.add(item.change());
            readyTickets.add(item.ticket());
            readyPosition = item.positionSource();
            readyHasSnapshotRows = true;
            if (ready.size() >= maxRows) {
                flushReady(out);
            }
            return;
        }
        if (readyHasSnapshotRows) {
            flushReady(out);
        }
        ChangeEvent change = item.change();
        if (change.after() != null && layouts.put(change.table(), change.after().columns()) != change.after().columns()) {
            flushReady(out);
        }
        if (openTransaction == null) {
            // The stream resumed inside a transaction whose BEGIN was acknowledged before a restart.
            openTransaction = item.transactionId();
        }
        else if (item.transactionId() != null && !openTransaction.equals(item.transactionId())) {
            throw new PipelineFailure("a change of transaction " + item.transactionId() + " arrived while transaction "
                    + openTransaction + " was open; the change stream is out of order");
        }
        open.add(item.change());
        openTickets.add(item.ticket());
        openPosition = item.positionSource();
        if (ready.size() + open.size() >= maxRows) {
            // A split transaction's controls wait for its END, in its last part.
            flushReady(out);
            if (open.size() >= maxRows) {
                out.add(new PendingBatch<>(new ChangeBatch(open, openPosition.get(), 0, true, List.of()), openTickets));
                open.clear();
                openTickets.clear();
            }
        }
    }

    /** Everything complete, as one batch (or none); called when the engine's poll has been consumed. */
    List<PendingBatch<T>> drain() {
        List<PendingBatch<T>> out = new ArrayList<>(1);
        flushReady(out);
        return out;
    }

    /** Whether a source transaction has started and not yet ended. */
    boolean insideTransaction() {
        return openTransaction != null;
    }

    private void flushReady(List<PendingBatch<T>> out) {
        if (readyTickets.isEmpty()) {
            return;
        }
        Objects.requireNonNull(readyPosition, "a ready batch always has a position");
        out.add(new PendingBatch<>(new ChangeBatch(ready, readyPosition.get(), readyTransactions, false, readyMarkers, readyControls),
                readyTickets));
        ready.clear();
        readyTickets.clear();
        readyMarkers.clear();
        readyControls.clear();
        readyTransactions = 0;
        readyPosition = null;
        readyHasSnapshotRows = false;
    }

    private void clearOpen() {
        openTransaction = null;
        open.clear();
        openTickets.clear();
        openMarkers.clear();
        openControls.clear();
        openPosition = null;
    }
}
