package dev.scry.backfill.source;

import dev.scry.backfill.model.ChangeBatch;

/**
 * Where the source stage hands each batch: the rest of the pipeline (throttle, sink). When
 * {@link #accept} returns, the batch and its checkpoint are committed on the shadow; only then does
 * the source acknowledge it to the slot. Throwing stops the pipeline with nothing acknowledged.
 */
@FunctionalInterface
public interface BatchSink {

    void accept(ChangeBatch batch) throws InterruptedException;
}
