package dev.scry.backfill.source;

import java.util.Objects;
import java.util.function.Supplier;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableControl;

/**
 * One record out of the engine, classified: a change, a transaction boundary, a heartbeat, a
 * marker, or something to skip. Every item carries the position after it and the engine's handle
 * ({@code ticket}) to acknowledge once the shadow has committed it. The position is worked out when
 * asked for: only the item that ends a batch needs it, and copying every record's offset map was a
 * fifth of the consumer's time.
 */
record SourceItem<T>(Kind kind, ChangeEvent change, String transactionId, String marker, Supplier<SourcePosition> positionSource,
                     T ticket, TableControl control) {

    enum Kind {
        CHANGE, BEGIN, END, HEARTBEAT, MARKER, SKIP, CONTROL
    }

    SourceItem(Kind kind, ChangeEvent change, String transactionId, String marker, Supplier<SourcePosition> positionSource, T ticket) {
        this(kind, change, transactionId, marker, positionSource, ticket, null);
    }

    SourceItem {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(positionSource, "position");
        if (kind == Kind.CHANGE && change == null) {
            throw new IllegalArgumentException("a CHANGE item needs its change");
        }
        if (kind == Kind.CONTROL && control == null) {
            throw new IllegalArgumentException("a CONTROL item needs its control");
        }
        if ((kind == Kind.BEGIN || kind == Kind.END) && transactionId == null) {
            throw new IllegalArgumentException(kind + " needs a transaction id");
        }
    }

    static <T> SourceItem<T> change(ChangeEvent change, String transactionId, Supplier<SourcePosition> position, T ticket) {
        return new SourceItem<>(Kind.CHANGE, change, transactionId, null, position, ticket);
    }

    static <T> SourceItem<T> boundary(Kind kind, String transactionId, Supplier<SourcePosition> position, T ticket) {
        return new SourceItem<>(kind, null, transactionId, null, position, ticket);
    }

    static <T> SourceItem<T> marker(String content, Supplier<SourcePosition> position, T ticket) {
        return new SourceItem<>(Kind.MARKER, null, null, content, position, ticket);
    }

    static <T> SourceItem<T> control(TableControl control, Supplier<SourcePosition> position, T ticket) {
        return new SourceItem<>(Kind.CONTROL, null, null, null, position, ticket, control);
    }

    static <T> SourceItem<T> of(Kind kind, Supplier<SourcePosition> position, T ticket) {
        return new SourceItem<>(kind, null, null, null, position, ticket);
    }
}
