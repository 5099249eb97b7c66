package dev.scry.backfill.source;

/**
 * The source stage: reads the slot, cuts what it reads into transaction-aligned batches and hands
 * each to a {@link BatchSink}; a batch's position is confirmed to the slot only after the sink has
 * committed it. Two readers implement it: {@link PgOutputSource}, which decodes the pgoutput
 * stream itself, and {@link DebeziumSource}, the embedded Debezium engine; {@link ChangeSources}
 * alone decides which one runs ({@code stream.reader}, {@code snapshot.method}, the checkpoint).
 *
 * <p>Lifecycle: {@link #run()} blocks until the source stops. {@link #requestStop()} (any thread)
 * lets the batch in flight finish and commit, applies nothing more, then closes the stream;
 * {@link #close()} is idempotent.
 */
public interface ChangeSource extends AutoCloseable {

    /** Called once the stream has started: the slot exists and changes from now on will be streamed. */
    @FunctionalInterface
    interface StartListener {
        void started();
    }

    /**
     * Streams until stopped; rethrows the failure that stopped it. A lost source connection comes
     * back as a {@link dev.scry.backfill.error.TransientException}, to be retried from the checkpoint.
     */
    void run() throws InterruptedException;

    void requestStop();

    /**
     * The caller waits for the stream's committed position to reach {@code lsn} (a position-only
     * {@link SourceMark}, on a standby): a reader whose position moves on quiet tables only with
     * its heartbeats moves it as soon as the server reports having passed {@code lsn}.
     */
    default void awaiting(dev.scry.backfill.model.Lsn lsn) {
    }

    boolean stopRequested();

    /**
     * Whether stopping confirms to the slot everything the sink committed, before {@link #run()}
     * returns. A caller that must leave the slot confirmed (the caught-up exit) otherwise waits for
     * the reader's next confirmation before it asks the reader to stop.
     */
    default boolean confirmsWhenStopping() {
        return false;
    }

    @Override
    void close();
}
