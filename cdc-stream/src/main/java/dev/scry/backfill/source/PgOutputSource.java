package dev.scry.backfill.source;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.model.ConnectionFactory;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * The default source stage: reads the slot's pgoutput stream itself, through pgjdbc's replication
 * API, and hands transaction-aligned batches to the sink.
 *
 * <p>Two threads. The reader decodes messages, cuts batches and confirms to the slot what the
 * shadow has committed; the applier runs the sink. One batch waits between them, so the next batch
 * is read and cut while the previous one commits, and while the applier is busy the reader keeps
 * adding whole transactions to the waiting work (up to {@code batch.max-rows}): batches grow when
 * the shadow is the bottleneck and stay small, for low lag, when it is not.
 *
 * <p>The slot is confirmed only up to the start position of the last committed batch (see
 * {@link PgOutputPosition}), never to what was merely received: pgjdbc's automatic flush, which
 * would confirm a keepalive's position on its own, is switched off. While the tables are quiet the
 * server's keepalives carry its position; every heartbeat interval that position becomes an empty
 * batch, so the checkpoint and then the slot follow it and the server can recycle its WAL.
 */
public final class PgOutputSource implements ChangeSource {

    private static final Logger LOG = LoggerFactory.getLogger(PgOutputSource.class);
    private static final long FEEDBACK_EVERY_NANOS = 50_000_000L;
    private static final long IDLE_FEEDBACK_EVERY_NANOS = 5_000_000_000L;
    private static final PendingBatch<Object> NOTHING = new PendingBatch<>(null, List.of());

    private final StreamSettings settings;
    private final Map<TableId, TableSpec> tables;
    private final Optional<Map<String, Object>> startOffset;
    private final SnapshotOverlap overlap;
    private final Watermarks watermarks;
    private final BatchSink sink;
    private final StartListener startListener;
    private final EarlyStream early;

    // Asked for by the caller (or by a failed batch): the run ends without error.
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    // The applier's own end: set whenever the run ends, for whatever reason.
    private final AtomicBoolean applierStop = new AtomicBoolean();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final BlockingQueue<PendingBatch<Object>> waiting = new ArrayBlockingQueue<>(1);
    private final AtomicBoolean applying = new AtomicBoolean();
    // The restart LSN of the last batch the shadow committed: what the slot may confirm.
    private final AtomicLong committed = new AtomicLong();
    // A position the caller waits for (see awaiting): heartbeats reach it without waiting their interval.
    private final AtomicLong awaited = new AtomicLong(Long.MAX_VALUE);
    private volatile Thread applier;

    /**
     * @param tables      the tracked tables; live, tables that join while streaming are added by the caller
     * @param startOffset the checkpoint's offset, or empty to start at the slot's position (created if missing)
     * @param overlap     when the offset carries an overlap (see {@link PositionCodec#overlapUntil}): the continued snapshot's late parts, else null
     * @param watermarks  this process's {@link Watermarks} (copies of tables while streaming, pauses, removals), or null
     * @param early       a stream requested ahead of this run (see {@link EarlyStream}), used when it starts at {@code startOffset}; or null
     */
    PgOutputSource(StreamSettings settings, Map<TableId, TableSpec> tables, Optional<Map<String, Object>> startOffset,
                   SnapshotOverlap overlap, Watermarks watermarks, EarlyStream early, BatchSink sink, StartListener startListener) {
        this.early = early;
        this.watermarks = watermarks;
        this.settings = settings;
        this.overlap = overlap;
        this.tables = tables;
        this.startOffset = startOffset;
        this.sink = sink;
        this.startListener = startListener;
        startOffset.ifPresent(o -> {
            if (!PgOutputPosition.readable(o)) {
                throw new IllegalArgumentException("the checkpoint's offset was written by another reader: " + o.keySet());
            }
        });
    }

    @Override
    public void run() throws InterruptedException {
        if (stopRequested.get()) {
            return;
        }
        try {
            Opened opened = early == null ? null : early.take(startOffset);
            if (opened == null) {
                opened = open(settings, startOffset);
            }
            try (Connection replication = opened.replication()) {
                stream(opened);
            }
        }
        catch (SQLException e) {
            if (stopRequested.get() && failure.get() == null) {
                return;
            }
            throw classify(e);
        }
        finally {
            stopApplier();
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new PipelineFailure("the pipeline stopped: " + t, t);
        }
    }

    /** A stream the server has started, with what reading it needs. */
    record Opened(Connection replication, PGReplicationStream stream, PgOutputPosition start, Map<Integer, String> typeNames) {
    }

    /**
     * Reads the type names, checks the slot, and starts the stream at {@code startOffset} (or at the
     * slot's position, creating the slot when it is missing). On failure nothing stays open.
     */
    static Opened open(StreamSettings settings, Optional<Map<String, Object>> startOffset) throws SQLException {
        PgOutputPosition checkpoint;
        Map<Integer, String> typeNames;
        try (Connection c = ConnectionFactory.open(settings.source(), "source", "scry-backfill catalog " + settings.pipeline())) {
            typeNames = typeNames(c);
            checkpoint = startOffset.isPresent() ? PgOutputPosition.read(startOffset.get()) : slotPosition(settings, c);
            if (startOffset.isPresent()) {
                // Each start, not only the command's: after a failover this is another server.
                ResumableSlot.check(settings.slot(), checkpoint.restart(), new SourceAdmin(c).slot(settings.slot()),
                        settings.source().describe());
            }
        }
        Connection replication = ConnectionFactory.openReplication(settings.source(), "source", "scry-backfill " + settings.pipeline());
        try {
            int timeline = ServerTimeline.current(replication);
            ServerTimeline.checkReachable(replication, checkpoint.timeline(), timeline, checkpoint.restart(), settings.source().describe());
            PgOutputPosition start = checkpoint.onTimeline(timeline);
            PGReplicationStream stream = replication.unwrap(PGConnection.class).getReplicationAPI().replicationStream().logical()
                    .withSlotName(settings.slot())
                    .withStartPosition(LogSequenceNumber.valueOf(start.restart().value()))
                    .withSlotOption("proto_version", 1)
                    .withSlotOption("publication_names", Identifiers.quote(settings.publication()))
                    // Logical-decoding messages: the caught-up marker comes out of the stream this way.
                    .withSlotOption("messages", true)
                    .withStatusInterval(10, TimeUnit.SECONDS)
                    // Only what the shadow committed is confirmed, never a position merely received.
                    .withAutomaticFlush(false)
                    .start();
            return new Opened(replication, stream, start, typeNames);
        }
        catch (SQLException | RuntimeException e) {
            try {
                replication.close();
            }
            catch (SQLException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    private void stream(Opened opened) throws SQLException, InterruptedException {
        PgOutputPosition start = opened.start();
        LogSequenceNumber from = LogSequenceNumber.valueOf(start.restart().value());
        PGReplicationStream stream = opened.stream();
        committed.set(start.restart().value());
        stream.setFlushedLSN(from);
        stream.setAppliedLSN(from);
        LOG.info("streaming from slot {} at {}{}", settings.slot(), start.restart(),
                start.inside() == null ? "" : " (inside the transaction committed at " + start.inside().commitLsn()
                        + ", after its first " + start.inside().message() + " changes)");
        startApplier();
        startListener.started();
        new Reader(stream, new PgOutputConverter(tables, settings.tables(), opened.typeNames(), start, overlap, watermarks)).run();
    }

    /** The reader's loop, with the state only the reader thread touches. */
    private final class Reader {
        private final PGReplicationStream stream;
        private final PgOutputConverter converter;
        private final TransactionBatcher<Object> batcher;
        private final List<SourceItem<Object>> items = new ArrayList<>();
        private long confirmedSent;
        private long lastFeedbackNanos = System.nanoTime();
        private long lastHeartbeatNanos = System.nanoTime();
        // Whether the batcher holds complete work not handed over yet.
        private boolean pending;

        Reader(PGReplicationStream stream, PgOutputConverter converter) {
            this.stream = stream;
            this.converter = converter;
            this.batcher = new TransactionBatcher<>(settings.maxBatchRows());
            this.confirmedSent = committed.get();
        }

        void run() throws SQLException, InterruptedException {
            try {
                while (!stopRequested.get()) {
                    feedback(false);
                    ByteBuffer message = stream.readPending();
                    if (message == null) {
                        idle();
                        continue;
                    }
                    items.clear();
                    converter.convert(message, items);
                    for (SourceItem<Object> item : items) {
                        for (PendingBatch<Object> batch : batcher.offer(item)) {
                            handOver(batch);
                        }
                        pending = true;
                    }
                    if (!converter.insideTransaction() && !applying.get() && waiting.isEmpty()) {
                        handOverReady();
                    }
                }
            }
            finally {
                closeStream();
            }
        }

        /** Nothing to read right now (pgjdbc waited about a millisecond for it). */
        private void idle() throws SQLException, InterruptedException {
            if (converter.insideTransaction()) {
                return;
            }
            if (pending && waiting.isEmpty()) {
                handOverReady();
            }
            long now = System.nanoTime();
            long received = stream.getLastReceiveLSN().asLong();
            boolean reachesAwaited = Long.compareUnsigned(received, awaited.get()) >= 0
                    && Long.compareUnsigned(converter.restart().value(), awaited.get()) < 0;
            if (!pending && !applying.get() && waiting.isEmpty()
                    && (reachesAwaited || now - lastHeartbeatNanos >= settings.heartbeatInterval().toNanos())) {
                lastHeartbeatNanos = now;
                Lsn at = new Lsn(received);
                if (at.isAfter(converter.restart())) {
                    for (PendingBatch<Object> batch : batcher.offer(converter.heartbeat(at))) {
                        handOver(batch);
                    }
                    pending = true;
                    handOverReady();
                }
            }
        }

        private void handOverReady() throws SQLException, InterruptedException {
            for (PendingBatch<Object> batch : batcher.drain()) {
                handOver(batch);
            }
            pending = false;
        }

        /** Waits for the applier to take the batch waiting before this one; keeps the slot informed meanwhile. */
        private void handOver(PendingBatch<Object> batch) throws SQLException, InterruptedException {
            sink.prepare(batch.batch());
            while (!waiting.offer(batch, 10, TimeUnit.MILLISECONDS)) {
                if (stopRequested.get()) {
                    return;
                }
                feedback(false);
            }
        }

        /**
         * Confirms the last committed position to the slot: soon after each commit, and every few
         * seconds regardless, which keeps the server from timing out a client that is busy waiting
         * for the shadow.
         */
        private void feedback(boolean force) throws SQLException {
            long now = System.nanoTime();
            long confirmed = committed.get();
            boolean moved = confirmed != confirmedSent;
            if (force || (moved && now - lastFeedbackNanos >= FEEDBACK_EVERY_NANOS) || now - lastFeedbackNanos >= IDLE_FEEDBACK_EVERY_NANOS) {
                LogSequenceNumber lsn = LogSequenceNumber.valueOf(confirmed);
                stream.setFlushedLSN(lsn);
                stream.setAppliedLSN(lsn);
                stream.forceUpdateStatus();
                confirmedSent = confirmed;
                lastFeedbackNanos = now;
            }
        }

        /** Lets the batch in flight commit, confirms it to the slot, and ends the stream. */
        private void closeStream() throws SQLException, InterruptedException {
            try {
                stopApplier();
                if (!stream.isClosed()) {
                    feedback(true);
                    stream.close();
                }
            }
            catch (SQLException e) {
                // The connection is gone (that may be why we stop): the slot keeps what it confirmed
                // last, and the checkpoint says where to resume.
                LOG.debug("closing the replication stream: {}", e.toString());
            }
        }
    }

    private void startApplier() {
        Thread t = new Thread(this::applyLoop, "shadow-applier");
        t.setDaemon(true);
        applier = t;
        t.start();
    }

    private void applyLoop() {
        try {
            while (!applierStop.get() && !stopRequested.get()) {
                applying.set(true);
                PendingBatch<Object> batch = waiting.poll();
                if (batch == null) {
                    applying.set(false);
                    batch = waiting.poll(10, TimeUnit.MILLISECONDS);
                    if (batch == null) {
                        continue;
                    }
                    applying.set(true);
                }
                if (batch == NOTHING || applierStop.get() || stopRequested.get()) {
                    break;
                }
                sink.accept(batch.batch());
                SourcePosition end = batch.batch().end();
                committed.set(end.lsn().value());
            }
        }
        catch (InterruptedException e) {
            if (!stopRequested.get() && !applierStop.get()) {
                failure.compareAndSet(null, e);
            }
        }
        catch (RuntimeException | Error e) {
            failure.compareAndSet(null, e);
            stopRequested.set(true);
        }
        finally {
            applying.set(false);
        }
    }

    /** Waits for the batch in flight, if any, to commit; nothing after it is applied. */
    private void stopApplier() throws InterruptedException {
        applierStop.set(true);
        Thread t = applier;
        if (t != null && t != Thread.currentThread()) {
            waiting.clear();
            waiting.offer(NOTHING);
            t.join();
        }
    }

    @Override
    public void requestStop() {
        stopRequested.set(true);
    }

    @Override
    public void awaiting(Lsn lsn) {
        awaited.set(lsn.value());
    }

    @Override
    public boolean stopRequested() {
        return stopRequested.get();
    }

    /** The reader's last act is to confirm the last committed batch (see {@code closeStream}). */
    @Override
    public boolean confirmsWhenStopping() {
        return true;
    }

    @Override
    public void close() {
        if (early != null) {
            early.close();
        }
        stopRequested.set(true);
        try {
            stopApplier();
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Without a checkpoint: the slot's confirmed position, after creating the slot when it is
     * missing (changes committed from then on are streamed).
     */
    private static PgOutputPosition slotPosition(StreamSettings settings, Connection c) throws SQLException {
        Optional<SlotInfo> slot = new SourceAdmin(c).slot(settings.slot());
        if (slot.isPresent() && slot.get().confirmedFlush() != null) {
            return new PgOutputPosition(slot.get().confirmedFlush(), null, 0, null);
        }
        return new PgOutputPosition(settings.slotCreation().create(c, settings.slot()), null, 0, null);
    }

    /** Type names by OID: the stream describes columns by type OID and names only the types it adds. */
    private static Map<Integer, String> typeNames(Connection c) throws SQLException {
        Map<Integer, String> names = new HashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT oid::int, typname FROM pg_type")) {
            while (rs.next()) {
                names.put(rs.getInt(1), rs.getString(2));
            }
        }
        return names;
    }

    private RuntimeException classify(SQLException e) {
        String message = "the replication stream from " + settings.source().describe() + " failed: " + SqlErrors.describe(e);
        if (SqlErrors.isTransient(e) || EngineFailures.replicationStreamBroken(e)) {
            return new TransientException(message, e);
        }
        if ("42704".equals(e.getSQLState())) {
            // undefined_object: the slot or the publication is gone.
            return new SetupException(message + "; the slot and publication are created by `snapshot` or `cdc`, and removed by"
                    + " `teardown`", e);
        }
        return new PipelineFailure(message, e);
    }
}
