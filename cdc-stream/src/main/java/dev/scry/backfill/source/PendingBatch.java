package dev.scry.backfill.source;

import java.util.List;

import dev.scry.backfill.model.ChangeBatch;

/** A batch ready for the shadow, with the engine records to acknowledge once it is committed. */
record PendingBatch<T>(ChangeBatch batch, List<T> tickets) {

    PendingBatch {
        tickets = List.copyOf(tickets);
    }
}
