package dev.scry.backfill.source;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.model.ConnectionFactory;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;

/**
 * The source stage: an embedded Debezium engine on the pgoutput slot, whose records are cut into
 * transaction-aligned batches and handed to a {@link BatchSink} on the engine's polling thread.
 * A batch's records are acknowledged to the engine (which confirms their LSN to the slot) only
 * after the sink has committed it, so the slot never runs ahead of the shadow.
 *
 * <p>Lifecycle: {@link #run()} blocks until the engine stops. {@link #requestStop()} (any thread)
 * lets the batch in flight finish and commit, applies nothing more, then closes the engine.
 */
public final class DebeziumSource implements ChangeSource {

    private static final Logger LOG = LoggerFactory.getLogger(DebeziumSource.class);

    private final StreamSettings settings;
    private final EngineProperties.Start start;
    private final Supplier<Optional<Map<String, Object>>> committedOffset;
    private final BatchSink sink;
    private final StartListener startListener;
    private final RecordConverter converter;
    private final TransactionBatcher<RecordChangeEvent<SourceRecord>> batcher;
    private final ToastPlaceholder placeholder = ToastPlaceholder.random();

    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ReentrantLock applyLock = new ReentrantLock();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final ExecutorService engineThread = Executors.newSingleThreadExecutor(r -> new Thread(r, "debezium-engine"));
    private volatile DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;

    private DebeziumSource(StreamSettings settings, EngineProperties.Start start, Map<TableId, TableSpec> tables,
                           Supplier<Optional<Map<String, Object>>> committedOffset, BatchSink sink, StartListener startListener) {
        this.settings = settings;
        this.start = start;
        this.committedOffset = committedOffset;
        this.sink = sink;
        this.startListener = startListener;
        this.converter = new RecordConverter(settings.pipeline(), tables, settings.tables(), placeholder);
        this.batcher = new TransactionBatcher<>(settings.maxBatchRows());
    }

    /**
     * Snapshot first when no offset says otherwise, then stream.
     *
     * @param committedOffset the offset the shadow committed last, in the engine's format (see {@link DebeziumOffsetStore})
     */
    static DebeziumSource snapshotThenStream(StreamSettings settings, Map<TableId, TableSpec> tables,
                                             Supplier<Optional<Map<String, Object>>> committedOffset, BatchSink sink,
                                             StartListener startListener) {
        return new DebeziumSource(settings, EngineProperties.Start.SNAPSHOT_THEN_STREAM, tables, committedOffset, sink, startListener);
    }

    /** Stream only: from the committed offset, or from the slot's position when there is none. */
    static DebeziumSource streamOnly(StreamSettings settings, Map<TableId, TableSpec> tables,
                                     Supplier<Optional<Map<String, Object>>> committedOffset, BatchSink sink, StartListener startListener) {
        return new DebeziumSource(settings, EngineProperties.Start.STREAM_ONLY, tables, committedOffset, sink, startListener);
    }

    /**
     * Runs the engine until it stops; rethrows the failure that stopped it, if any. A stop that
     * was requested is a normal return.
     */
    @Override
    public void run() throws InterruptedException {
        probeSource();
        String registration = settings.pipeline() + ":" + UUID.randomUUID();
        try (AutoCloseable registered = DebeziumOffsetStore.register(registration, committedOffset)) {
            runEngine(new OffsetStorage(DebeziumOffsetStore.class.getName(), Map.of(DebeziumOffsetStore.REGISTRY_KEY, registration)));
        }
        catch (InterruptedException | RuntimeException | Error e) {
            throw e;
        }
        catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void runEngine(OffsetStorage offsets) throws InterruptedException {
        engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(EngineProperties.build(settings, start, offsets, placeholder))
                .using(new DebeziumEngine.ConnectorCallback() {
                    @Override
                    public void taskStarted() {
                        try {
                            startListener.started();
                        }
                        catch (RuntimeException e) {
                            failure.compareAndSet(null, e);
                            requestStop();
                        }
                    }
                })
                .using((success, message, error) -> {
                    if (!success && !stopRequested.get()) {
                        // Without an exception the engine's message is classified like one (see EngineFailures).
                        failure.compareAndSet(null, error != null ? error : new IllegalStateException(message));
                    }
                    finished.countDown();
                })
                .notifying(this::handleBatch)
                .build();
        if (stopRequested.get()) {
            closeEngine();
            return;
        }
        engineThread.execute(engine);
        finished.await();
        closeEngine();
        Throwable t = failure.get();
        if (t == null) {
            return;
        }
        // Our own failures (raised in the sink or the converter) may come back wrapped by the engine.
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof dev.scry.backfill.error.SetupException || c instanceof PipelineFailure) {
                throw (RuntimeException) c;
            }
            if (c instanceof Error e) {
                throw e;
            }
        }
        if (EngineFailures.isConnectionFault(t)) {
            throw new TransientException(describe(t), t);
        }
        // The engine does not always keep the driver's exception. If the source cannot be reached
        // now, it went away while the engine ran and that is what stopped it: retried, not fatal.
        // A real failure comes back on the next run once the source is up.
        probeSource();
        throw new PipelineFailure(describe(t), t);
    }

    /**
     * Connects once before the engine does: the engine reports an unreachable server as an invalid
     * configuration, with the cause reduced to text, which would read as a fatal error.
     */
    private void probeSource() {
        try (java.sql.Connection c = ConnectionFactory.open(settings.source(), "source", "scry-backfill probe");
             java.sql.Statement st = c.createStatement()) {
            // Started from an offset, the connector delivers nothing, heartbeats included, until it
            // has seen a COMMIT past that offset (its WalPositionLocator searches for one): on tables
            // that stay quiet, never, and the slot would retain WAL without bound. One transaction
            // holding only a logical-decoding message (of the heartbeats' prefix, skipped as they
            // are) is such a COMMIT.
            st.execute("SELECT pg_logical_emit_message(true, '" + EngineProperties.HEARTBEAT_PREFIX + "', '')");
        }
        catch (java.sql.SQLException e) {
            // Closing a connection that was open a moment ago: it has gone since.
            throw new TransientException("the source " + settings.source().describe() + " went away: " + SqlErrors.describe(e), e);
        }
    }

    private void handleBatch(List<RecordChangeEvent<SourceRecord>> records,
                             DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
        try {
            for (RecordChangeEvent<SourceRecord> record : records) {
                if (stopRequested.get()) {
                    return;
                }
                for (PendingBatch<RecordChangeEvent<SourceRecord>> batch : batcher.offer(converter.convert(record.record(), record))) {
                    apply(batch, committer);
                }
            }
            for (PendingBatch<RecordChangeEvent<SourceRecord>> batch : batcher.drain()) {
                apply(batch, committer);
            }
        }
        catch (InterruptedException e) {
            if (!stopRequested.get()) {
                throw e;
            }
        }
        catch (RuntimeException | Error e) {
            failure.compareAndSet(null, e);
            requestStop();
        }
    }

    private void apply(PendingBatch<RecordChangeEvent<SourceRecord>> batch,
                       DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
        applyLock.lock();
        try {
            if (stopRequested.get()) {
                return;
            }
            ChangeBatch b = batch.batch();
            // Marks the offsets that stand on a transaction boundary, where the other reader can take over (see PositionCodec).
            sink.accept(new ChangeBatch(b.events(), new SourcePosition(b.end().phase(), b.end().lsn(),
                    PositionCodec.debeziumBatchEnd(b.end().offset(), !b.partialTransaction())), b.transactions(),
                    b.partialTransaction(), b.markers(), b.controls()));
            for (RecordChangeEvent<SourceRecord> ticket : batch.tickets()) {
                committer.markProcessed(ticket);
            }
            // Flushes the acknowledged offset to the engine, which confirms its LSN to the slot.
            committer.markBatchFinished();
        }
        finally {
            applyLock.unlock();
        }
    }

    /**
     * Asks the engine to stop: the batch being applied (if any) completes and commits, nothing
     * after it is applied, and the engine closes. Returns at once; {@link #run()} returns when done.
     */
    @Override
    public void requestStop() {
        if (stopRequested.compareAndSet(false, true)) {
            Thread stopper = new Thread(() -> {
                // Waiting for the lock means waiting for the batch in flight to commit.
                applyLock.lock();
                applyLock.unlock();
                closeEngine();
            }, "debezium-stopper");
            stopper.setDaemon(true);
            stopper.start();
        }
    }

    @Override
    public boolean stopRequested() {
        return stopRequested.get();
    }

    private void closeEngine() {
        DebeziumEngine<?> e = engine;
        if (e != null && closed.compareAndSet(false, true)) {
            try {
                e.close();
            }
            catch (IOException | IllegalStateException ex) {
                // An engine that failed has shut itself down already and says so when closed again.
                LOG.debug("closing the Debezium engine: {}", ex.toString());
            }
        }
    }

    @Override
    public void close() {
        stopRequested.set(true);
        closeEngine();
        engineThread.shutdown();
        try {
            if (!engineThread.awaitTermination(60, TimeUnit.SECONDS)) {
                engineThread.shutdownNow();
            }
        }
        catch (InterruptedException e) {
            engineThread.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return "the Debezium engine stopped: " + t.getMessage() + (root != t ? " (cause: " + root.getMessage() + ")" : "");
    }
}
