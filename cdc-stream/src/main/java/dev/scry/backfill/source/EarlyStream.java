package dev.scry.backfill.source;

import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pgoutput stream requested while the command still makes the shadow ready: the walsender
 * starts and decodes from the checkpoint (tens of milliseconds before its first message, more on
 * a busy source) at the same time, instead of after it. Started on a thread of its own once the
 * checkpoint is known and the slot is idle ({@link ChangeSources.Choice#startEarly}).
 * {@link PgOutputSource} takes it when it starts at the same offset, soon enough that the server
 * has not given up on a client that reads nothing ({@code wal_sender_timeout}). Otherwise, or when
 * starting failed, the reader opens its stream as it does without one (and reports what fails
 * then); {@link #close} ends one nobody took.
 */
public final class EarlyStream implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EarlyStream.class);
    // Well under wal_sender_timeout (60 s by default): the walsender hears nothing from us meanwhile.
    private static final long USABLE_FOR_NANOS = 10_000_000_000L;
    private static final long CLOSE_WAIT_SECONDS = 10;

    private final Optional<Map<String, Object>> offset;
    private final long startedNanos = System.nanoTime();
    private final CompletableFuture<PgOutputSource.Opened> opened = new CompletableFuture<>();
    private final AtomicBoolean taken = new AtomicBoolean();

    private EarlyStream(Optional<Map<String, Object>> offset) {
        this.offset = offset;
    }

    /** Starts the stream at {@code offset} (a pgoutput offset) on a thread of its own. */
    static EarlyStream start(StreamSettings settings, Map<String, Object> offset) {
        EarlyStream early = new EarlyStream(Optional.of(offset));
        Thread t = new Thread(() -> {
            try {
                early.opened.complete(PgOutputSource.open(settings, early.offset));
            }
            catch (SQLException | RuntimeException e) {
                early.opened.completeExceptionally(e);
            }
        }, "stream-start");
        t.setDaemon(true);
        t.start();
        return early;
    }

    /** The started stream, when it starts at {@code startOffset} and is fresh; else null (and it is closed). Once. */
    PgOutputSource.Opened take(Optional<Map<String, Object>> startOffset) throws InterruptedException {
        if (!taken.compareAndSet(false, true)) {
            return null;
        }
        PgOutputSource.Opened stream;
        try {
            stream = opened.get();
        }
        catch (ExecutionException e) {
            LOG.debug("the early start of the stream failed ({}); starting it again", e.getCause().toString());
            return null;
        }
        if (startOffset.equals(offset) && System.nanoTime() - startedNanos < USABLE_FOR_NANOS) {
            return stream;
        }
        closeQuietly(stream);
        return null;
    }

    /**
     * Ends the stream if nobody took it, once it has started (so that the slot is free when this
     * returns; a start that takes longer than the bound is closed when it completes).
     */
    @Override
    public void close() {
        if (!taken.compareAndSet(false, true)) {
            return;
        }
        try {
            closeQuietly(opened.get(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS));
        }
        catch (ExecutionException e) {
            // Nothing was left open.
        }
        catch (TimeoutException e) {
            opened.thenAccept(EarlyStream::closeQuietly);
        }
        catch (InterruptedException e) {
            opened.thenAccept(EarlyStream::closeQuietly);
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(PgOutputSource.Opened stream) {
        try {
            stream.replication().close();
        }
        catch (SQLException e) {
            LOG.debug("closing a stream started early: {}", e.toString());
        }
    }
}
