package dev.scry.backfill.model;

import java.util.List;
import java.util.Objects;

/**
 * What one shadow transaction applies: changes in source order, and the position the shadow
 * reaches once they are committed. A batch holds whole source transactions, except when one
 * transaction is larger than the batch limit: then {@code partialTransaction} is set and the
 * position points inside that transaction, so a resume continues after its last applied change.
 *
 * @param events             changes in source order (may be empty: a batch that only moves the position)
 * @param end                the position after the last event
 * @param transactions       how many source transactions end in this batch
 * @param partialTransaction whether the batch ends inside a source transaction
 * @param markers            contents of the scry-backfill logical-decoding markers the batch passed
 * @param controls           changes to how tables are treated, applied after the events, in order
 */
public record ChangeBatch(List<ChangeEvent> events, SourcePosition end, int transactions,
                          boolean partialTransaction, List<String> markers, List<TableControl> controls) {

    public ChangeBatch(List<ChangeEvent> events, SourcePosition end, int transactions, boolean partialTransaction, List<String> markers) {
        this(events, end, transactions, partialTransaction, markers, List.of());
    }

    public ChangeBatch {
        events = List.copyOf(events);
        markers = List.copyOf(markers);
        controls = List.copyOf(controls);
        Objects.requireNonNull(end, "end");
        if (transactions < 0) {
            throw new IllegalArgumentException("transactions must be >= 0");
        }
    }

    public int size() {
        return events.size();
    }

    public boolean isEmpty() {
        return events.isEmpty();
    }

    public long approximateBytes() {
        long bytes = 0;
        for (ChangeEvent e : events) {
            bytes += e.approximateBytes();
        }
        return bytes;
    }
}
