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

    /**
     * Called with each batch, on the thread that hands it over, before it waits its turn for
     * {@link #accept}: work that does not touch the shadow can be done here while the batch before
     * it is being written. Must not fail; the default does nothing.
     */
    default void prepare(ChangeBatch batch) {
    }

    /** A sink that accepts as {@code accept} does and prepares with {@code prepare}. */
    static BatchSink preparing(BatchSink accept, java.util.function.Consumer<ChangeBatch> prepare) {
        return new BatchSink() {
            @Override
            public void accept(ChangeBatch batch) throws InterruptedException {
                accept.accept(batch);
            }

            @Override
            public void prepare(ChangeBatch batch) {
                prepare.accept(batch);
            }
        };
    }
}
