package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowSink;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.snapshot.CopySnapshot;
import dev.scry.backfill.snapshot.SnapshotProgress;
import dev.scry.backfill.snapshot.TableAdder;
import dev.scry.backfill.source.BatchSink;
import dev.scry.backfill.source.ChangeSource;
import dev.scry.backfill.source.ChangeSources;
import dev.scry.backfill.source.EarlyStream;
import dev.scry.backfill.source.PositionCodec;
import dev.scry.backfill.source.SnapshotOverlap;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourceMark;
import dev.scry.backfill.source.Watermarks;
import dev.scry.backfill.app.operator.TableOperator;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * One run of the pipeline: source → throttle → sink, with the checkpoint committed by the sink.
 *
 * <p>Shutdown order, in one place: stop reading (the source applies nothing after the batch in
 * flight), let that batch commit with its checkpoint, close the reader (which confirms the last
 * committed LSN to the slot), close the sink.
 */
final class PipelineRun {

    /** How the run ended. */
    record Result(boolean snapshotCompleted, boolean caughtUp, Lsn markerLsn, Lsn lastLsn, long changesApplied) {
    }

    private static final Logger LOG = LoggerFactory.getLogger(PipelineRun.class);
    private static final long SUMMARY_EVERY_NANOS = 60_000_000_000L;
    private static final long SLOT_CONFIRM_TIMEOUT_NANOS = 15_000_000_000L;

    private final BackfillConfig config;
    private final Map<TableId, TableSpec> specs;
    private final Map<TableId, TableSpec> shadowSpecs;
    private final CheckpointStore checkpoints;
    private final SnapshotProgress progress;
    private final TransformChain chain;
    private final Throttle throttle;
    private final dev.scry.backfill.app.ops.Operations ops;
    // A stream started while the command made the shadow ready (see EarlyStream), or null.
    private final EarlyStream early;
    // SIGHUPs handled when the command read its configuration: one since is the table operator's at its start.
    private final long reloadsSeen;
    // Whether the run ends once no table request is open (a command ran the pipeline to serve its request).
    private boolean serveRequestsThenStop;

    // State observed by the sink callback on the engine's thread and read after the run.
    private volatile Phase phase;
    private volatile boolean snapshotCompleted;
    private volatile boolean caughtUp;
    private volatile Lsn lastLsn = Lsn.ZERO;
    private volatile long changesApplied;
    private final AtomicReference<SourceMark> mark = new AtomicReference<>();
    // The offset of the last batch this run committed; before the first, the checkpoint's.
    private final AtomicReference<Optional<Map<String, Object>>> committedOffset = new AtomicReference<>();
    private long changesSinceSummary;
    private long lastSummaryNanos = System.nanoTime();

    PipelineRun(BackfillConfig config, Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs,
                CheckpointStore checkpoints, SnapshotProgress progress, TransformChain chain, Throttle throttle,
                dev.scry.backfill.app.ops.Operations ops, EarlyStream early, long reloadsSeen) {
        this.early = early;
        this.reloadsSeen = reloadsSeen;
        this.ops = ops;
        this.chain = chain;
        this.throttle = throttle;
        this.config = config;
        this.specs = specs;
        this.shadowSpecs = shadowSpecs;
        this.checkpoints = checkpoints;
        this.progress = progress;
    }

    /** The run ends once no table request is left (see {@link TableOperator}). */
    PipelineRun servingRequestsThenStopping() {
        serveRequestsThenStop = true;
        return this;
    }

    /** Snapshot, then stop as soon as the batch that completes it has committed. */
    Result snapshotThenStop() throws InterruptedException {
        return run(true, true, false);
    }

    /** Stream from the checkpoint (or the slot). */
    Result streamOnly(boolean exitWhenCaughtUp) throws InterruptedException {
        return run(false, false, exitWhenCaughtUp);
    }

    private Result run(boolean snapshotFirst, boolean stopAfterSnapshot, boolean exitWhenCaughtUp) throws InterruptedException {
        phase = snapshotFirst ? Phase.SNAPSHOT : Phase.STREAMING;
        org.slf4j.MDC.put("phase", phase.label());
        String marker = exitWhenCaughtUp ? "caught-up:" + config.pipeline() + ":" + UUID.randomUUID() : null;
        AtomicReference<ChangeSource> sourceRef = new AtomicReference<>();
        ChangeSources.Choice reader = ChangeSources.choose(config.streamSettings(), storedOffset());
        // Watermarks come out of the stream of a reader that carries them: tables copied, paused, removed while it streams (see TableOperator).
        Watermarks watermarks = !snapshotFirst && reader.carriesWatermarks() ? watermarks() : null;
        try (CatalogSourceSchema catalog = new CatalogSourceSchema(config.source(), chain, reader);
             ShadowSink sink = ops == null ? new ShadowSink(config.sinkSettings(), shadowSpecs, catalog)
                     : new ShadowSink(config.sinkSettings(), shadowSpecs, catalog, ops, ops.poolMetrics())) {
            if (ops != null) {
                ops.phase(phase.label());
            }
            ChangeSource.StartListener started = () -> {
                if (marker != null) {
                    markSource(marker, sourceRef.get());
                }
            };
            // Each batch's size for the throttle, summed on the thread that hands it over (see prepare
            // below): summed where it is applied, walking thousands of changes made on the other
            // thread took half the applying thread's samples in a profile (cache misses), time the shadow waits for.
            Map<ChangeBatch, Long> sizes = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());
            BatchSink applying = batch -> {
                if (batch.isEmpty() && batch.markers().isEmpty() && batch.end().phase() == phase
                        && Optional.of(batch.end().offset()).equals(committedOffset.get())) {
                    // A heartbeat on an idle source: the checkpoint already says this.
                    return;
                }
                org.slf4j.MDC.put("pipeline", config.pipeline());
                org.slf4j.MDC.put("phase", batch.end().phase().label());
                Long bytes = sizes.remove(batch);
                throttle.admit(batch.size(), bytes != null ? bytes : batch.approximateBytes());
                Map<TableId, TableCounts> counts = sink.apply(chain.apply(batch));
                if (ops != null) {
                    Map<TableId, long[]> byOp = new java.util.LinkedHashMap<>();
                    counts.forEach((t, c) -> byOp.put(t, new long[] {c.snapshotRows(), c.inserts(), c.updates(), c.deletes(), c.truncates()}));
                    Long ts = PositionCodec.commitMicros(batch.end().offset()).orElse(null);
                    ops.batch(byOp, batch.size(), batch.end().phase() == Phase.STREAMING ? ts : null);
                    ops.phase(batch.end().phase().label());
                }
                committedOffset.set(Optional.of(batch.end().offset()));
                if (watermarks != null) {
                    watermarks.committed(batch.controls());
                }
                afterCommit(batch, counts, marker, stopAfterSnapshot, sourceRef.get());
            };
            // A transformed batch is another one by the time it is applied: only untransformed ones are prepared.
            BatchSink downstream = BatchSink.preparing(applying, batch -> {
                if (sizes.size() > 4) {
                    // Batches sized but never applied (a stop in between): none is kept for long.
                    sizes.clear();
                }
                sizes.put(batch, batch.approximateBytes());
                if (chain.isEmpty()) {
                    sink.prepare(batch);
                }
            });
            // Live: tables that join while streaming are added to it (see TableWatcher).
            Map<TableId, TableSpec> live = new ConcurrentHashMap<>(specs);
            ChangeSource source = reader.open(snapshotFirst, live, this::storedOffset, this::overlap, watermarks, early, downstream,
                    started);
            sourceRef.set(source);
            Signals.onTermination(source::requestStop);
            TableWatcher watcher = config.hasPatterns() && !snapshotFirst
                    ? new TableWatcher(config, reader, live, sink, new TableAdder(config.source(), config.shadow(), config.publication(),
                            checkpoints, throttle, chain, config.schema()), chain, source::requestStop,
                            t -> watermarks != null && watermarks.ignores(t))
                    : null;
            TableOperator operator = watermarks == null ? null
                    : new TableOperator(config, live, sink, chain, watermarks, throttle, source::requestStop, serveRequestsThenStop);
            try (source; AutoCloseable reload = operator == null ? () -> { } : Signals.onReload(operator::reload, reloadsSeen)) {
                if (watcher != null) {
                    watcher.start();
                }
                if (operator != null) {
                    operator.start();
                }
                source.run();
            }
            finally {
                if (watcher != null) {
                    watcher.close();
                }
                if (operator != null) {
                    operator.close();
                }
            }
            if (watcher != null && watcher.failure() != null) {
                throw watcher.failure();
            }
        }
        catch (InterruptedException | RuntimeException e) {
            throw e;
        }
        catch (Exception e) {
            throw new PipelineFailure("closing the pipeline failed: " + e.getMessage(), e);
        }
        return new Result(snapshotCompleted, caughtUp, mark.get() == null ? null : mark.get().lsn(), lastLsn, changesApplied);
    }

    /** A continued snapshot's late parts, from the snapshot journal on the shadow (see {@link SnapshotOverlap}). */
    private SnapshotOverlap overlap(Lsn restart, Lsn until) {
        try (Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            return CopySnapshot.overlap(shadow, config.pipeline(), restart, until);
        }
        catch (SQLException e) {
            throw new TransientException("cannot read the snapshot journal from the shadow: " + SqlErrors.describe(e), e);
        }
    }

    /** This run's watermarks, ignoring from the start the changes of tables `table remove` took out. */
    private Watermarks watermarks() {
        Watermarks watermarks = new Watermarks(config.pipeline());
        try (Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            watermarks.removed(TableMembership.removed(config.pipeline(), shadow));
        }
        catch (SQLException e) {
            throw new TransientException("cannot read the table states from the shadow: " + SqlErrors.describe(e), e);
        }
        return watermarks;
    }

    /** Runs on the applying thread right after a batch and its checkpoint committed. */
    private void afterCommit(ChangeBatch batch, Map<TableId, TableCounts> counts, String marker, boolean stopAfterSnapshot,
                             ChangeSource source) {
        lastLsn = batch.end().lsn();
        long changes = counts.values().stream().mapToLong(TableCounts::changes).sum();
        changesApplied += changes;
        changesSinceSummary += changes;
        if (progress != null) {
            progress.add(counts);
        }
        if (phase == Phase.SNAPSHOT && batch.end().phase() == Phase.STREAMING) {
            snapshotCompleted = true;
            LOG.info("snapshot complete at LSN {}", batch.end().lsn());
            if (stopAfterSnapshot) {
                source.requestStop();
            }
        }
        phase = batch.end().phase();
        SourceMark caughtUpMark = mark.get();
        if (marker != null && caughtUpMark != null && caughtUpMark.passedBy(batch) && !caughtUp) {
            caughtUp = true;
            if (source.confirmsWhenStopping()) {
                source.requestStop();
            }
            else {
                stopOnceSlotConfirms(batch.end().lsn(), source);
            }
        }
        long now = System.nanoTime();
        if (phase == Phase.STREAMING && now - lastSummaryNanos >= SUMMARY_EVERY_NANOS) {
            String lag = PositionCodec.commitMicros(batch.end().offset())
                    .map(ts -> String.format("%.1f s", Math.max(0, System.currentTimeMillis() - ts / 1000) / 1000.0)).orElse("unknown");
            LOG.info("pipeline {}: {} changes applied in the last {} s; lag {}; slot lag {} bytes; checkpoint LSN {}", config.pipeline(),
                    changesSinceSummary, (now - lastSummaryNanos) / 1_000_000_000L, lag, slotLagBytes(), lastLsn);
            changesSinceSummary = 0;
            lastSummaryNanos = now;
        }
    }

    /** WAL between the source's position and the slot's confirmed one, for the summary line; -1 when unknown. */
    private long slotLagBytes() {
        try (Connection c = ConnectionFactory.open(config.source(), "source")) {
            Optional<dev.scry.backfill.source.SlotInfo> slot = new SourceAdmin(c).slot(config.slot());
            Lsn now = new SourceAdmin(c).currentWalLsn();
            return slot.isEmpty() || slot.get().confirmedFlush() == null ? -1 : Math.max(0, now.bytesAfter(slot.get().confirmedFlush()));
        }
        catch (SQLException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Stops once the slot has confirmed {@code lsn}, for a reader that does not confirm as it stops
     * (see {@link ChangeSource#confirmsWhenStopping}). The engine confirms a committed position to
     * the slot at its next poll, just after the batch returns; closing it sooner could cut that
     * confirmation off and leave the source retaining WAL the shadow already has.
     */
    private void stopOnceSlotConfirms(Lsn lsn, ChangeSource source) {
        Thread waiter = new Thread(() -> {
            long deadline = System.nanoTime() + SLOT_CONFIRM_TIMEOUT_NANOS;
            try (Connection c = ConnectionFactory.open(config.source(), "source")) {
                SourceAdmin admin = new SourceAdmin(c);
                while (System.nanoTime() < deadline && !source.stopRequested()) {
                    Optional<Lsn> confirmed = admin.slot(config.slot()).map(s -> s.confirmedFlush());
                    if (confirmed.isPresent() && confirmed.get() != null && confirmed.get().compareTo(lsn) >= 0) {
                        break;
                    }
                    Thread.sleep(20);
                }
            }
            catch (SQLException | RuntimeException e) {
                LOG.warn("could not check that slot {} confirmed {}: {}", config.slot(), lsn, e.toString());
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            source.requestStop();
        }, "caught-up-stopper");
        waiter.setDaemon(true);
        waiter.start();
    }

    /**
     * Marks the source once the stream runs (so its slot exists): when the stream passes the mark,
     * every transaction committed before it has been applied. A primary gets a marker message; a
     * standby, which can write nothing, is marked by its replay position, which the stream passes
     * once its position gets there (the reader is told, so that it does not wait for a heartbeat).
     */
    private void markSource(String marker, ChangeSource source) {
        try (Connection c = ConnectionFactory.open(config.source(), "source")) {
            SourceMark at = new SourceAdmin(c).mark(marker);
            mark.set(at);
            if (at.positionOnly() && source != null) {
                source.awaiting(at.lsn());
            }
            LOG.info("waiting until every change committed on the source before {} is applied", at.lsn());
        }
        catch (SQLException e) {
            throw new PipelineFailure("cannot mark the source's position for --exit-when-caught-up (pg_logical_emit_message, or on"
                    + " a standby its replay position): " + e.getMessage(), e);
        }
    }

    /**
     * The committed offset, in whichever reader's format: the reader starts from it (converted by
     * cdc-stream's PositionCodec when the other reader wrote it), and may ask again as batches
     * commit, so the slot is only ever confirmed up to what the shadow has committed. Read from the
     * shadow once, then kept as batches commit.
     */
    private Optional<Map<String, Object>> storedOffset() {
        Optional<Map<String, Object>> known = committedOffset.get();
        if (known != null) {
            return known;
        }
        try (Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            Optional<Map<String, Object>> read = checkpoints.read(shadow).flatMap(Checkpoint::offset);
            committedOffset.compareAndSet(null, read);
            return committedOffset.get();
        }
        catch (SQLException e) {
            throw new PipelineFailure("cannot read the checkpoint from the shadow: " + e.getMessage(), e);
        }
    }
}
