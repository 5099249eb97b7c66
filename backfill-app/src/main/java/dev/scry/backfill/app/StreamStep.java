package dev.scry.backfill.app;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.TableStates;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowSchema;
import dev.scry.backfill.sink.schema.SequenceSync;
import dev.scry.backfill.snapshot.SnapshotProgress;
import dev.scry.backfill.snapshot.TableAdder;
import dev.scry.backfill.source.ResumableSlot;
import dev.scry.backfill.source.SlotInfo;
import dev.scry.backfill.source.SourceAdmin;

/**
 * The stream step: {@link #prepare} says where streaming starts, copies the tables that joined
 * since the snapshot and makes the shadow ready; {@link #stream} runs the stream under the
 * {@link RetryingRunner}, with the sequence and schema-drift schedules beside it.
 */
final class StreamStep {

    private static final Logger LOG = LoggerFactory.getLogger(StreamStep.class);

    private StreamStep() {
    }

    /**
     * Everything between the checks (and any snapshot) and the stream; returns the shadow tables
     * as they are, which is what the sink writes to.
     *
     * @param slot          the pipeline's slot, if it exists (see {@link SlotStep#prepare})
     * @param snapshotTaken whether this command just took the snapshot
     */
    static Map<TableId, TableSpec> prepare(PipelineContext run, Optional<Checkpoint> checkpoint, Optional<SlotInfo> slot,
                                           Map<TableId, TableSpec> specs, boolean snapshotTaken)
            throws SQLException, InterruptedException {
        boolean following = checkpoint.isPresent() && checkpoint.get().phase() == Phase.STREAMING;
        List<TableSpec> toAdd = new ArrayList<>();
        if (following) {
            ResumableSlot.check(run.config.slot(), checkpoint.get().lsn(), slot, run.config.source().describe());
            toAdd = tablesAddedSinceSnapshot(run, checkpoint.get(), specs);
            if (toAdd.isEmpty()) {
                // The server starts decoding while the shadow gets ready (nothing to copy first). The
                // slot is active from now on: a SIGTERM stops the run as soon as it has started.
                Signals.deferTermination();
                run.earlyStream = checkpoint.get().offset().map(run.reader::startEarly).orElse(null);
            }
            LOG.info("pipeline {}: resuming streaming from checkpoint LSN {}", run.config.pipeline(), checkpoint.get().lsn());
        }
        else if (checkpoint.isPresent() || snapshotTaken) {
            LOG.info("pipeline {}: streaming from the end of its snapshot", run.config.pipeline());
        }
        else if (slot.isPresent()) {
            LOG.info("pipeline {} has no checkpoint: streaming from replication slot {} at {}; changes before it are not copied"
                    + " (run `snapshot` to copy existing rows)", run.config.pipeline(), run.config.slot(), slot.get().confirmedFlush());
        }
        else {
            LOG.info("pipeline {} has no checkpoint: creating replication slot {} and streaming changes committed from now on;"
                    + " existing rows are not copied (run `snapshot` for those)", run.config.pipeline(), run.config.slot());
        }
        Map<TableId, TableSpec> published = new LinkedHashMap<>(specs);
        toAdd.forEach(t -> published.remove(t.id()));
        Map<TableId, TableSpec> shadowSpecs = ShadowPreparation.prepare(run, published,
                following ? ShadowPreparation.Load.FOLLOWING : ShadowPreparation.Load.AT_ONCE);
        for (TableSpec spec : toAdd) {
            addTable(run, spec);
            shadowSpecs.put(spec.id(), ShadowSchema.current(run.shadow, run.chain.shape(spec)));
        }
        if (snapshotTaken || !toAdd.isEmpty()) {
            run.sourceSchemaJustRead = false;
        }
        SlotStep.sayWhatAFailoverCosts(run);
        if (run.ops != null) {
            // Snapshot figures stay visible while streaming: what the snapshot copied, of the estimate.
            SnapshotProgress copied = new SnapshotProgress(List.copyOf(specs.keySet()));
            copied.estimate(run.source);
            copied.add(run.checkpoints.progress(run.shadow));
            run.ops.snapshot(copied::rows, copied.estimates());
        }
        return shadowSpecs;
    }

    /** Streams until stopped, caught up or failed for good; returns the exit code. */
    static int stream(PipelineContext run, Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs, boolean exitWhenCaughtUp)
            throws SQLException, InterruptedException {
        try (SequenceSchedule schedule = SequenceSchedule.start(run.config, new SequenceSync(run.sourceSchema.sequences()));
             SchemaDriftSchedule drift = SchemaDriftSchedule.start(run.config, run.schema, run.ops, run.sourceSchema,
                     run.sourceSchemaJustRead)) {
            int code = new RetryingRunner(run).stream(specs, shadowSpecs, exitWhenCaughtUp);
            if (exitWhenCaughtUp) {
                schedule.syncNow();
            }
            return code;
        }
    }

    /**
     * Tables in {@code tables} that the snapshot did not copy (added to the configuration, or
     * created on the source and matched by a pattern, since), or that are missing from the
     * publication: each is published and copied by {@link TableAdder} before streaming, so that
     * its existing rows are not missed. Pipelines that stream without a snapshot copy nothing.
     */
    private static List<TableSpec> tablesAddedSinceSnapshot(PipelineContext run, Checkpoint checkpoint, Map<TableId, TableSpec> specs)
            throws SQLException {
        if (!checkpoint.snapshotCompleted()) {
            return List.of();
        }
        Map<TableId, ?> copied = run.checkpoints.progress(run.shadow);
        // A table being copied by chunks goes on copying under its request (see TableOperator).
        Map<TableId, TableStates.Entry> states = new TableStates(run.config.pipeline()).read(run.shadow);
        SourceAdmin admin = new SourceAdmin(run.source);
        Set<TableId> published = admin.publicationExists(run.config.publication())
                ? admin.publishedTables(run.config.publication()) : Set.of();
        List<TableSpec> out = new ArrayList<>();
        for (TableSpec spec : specs.values()) {
            boolean copying = states.containsKey(spec.id()) && states.get(spec.id()).state() == TableStates.State.COPYING;
            if (!copying && (!copied.containsKey(spec.id()) || !published.contains(spec.id()))) {
                LOG.info("table {} is in `tables` but was not copied by the snapshot; copying it before streaming", spec.id());
                out.add(spec);
            }
        }
        return out;
    }

    /** Publishes and copies one table (see {@link TableAdder}), waiting while it is busy. */
    private static void addTable(PipelineContext run, TableSpec spec) throws SQLException, InterruptedException {
        TableAdder adder = new TableAdder(run.config.source(), run.config.shadow(), run.config.publication(), run.checkpoints,
                run.throttle, run.chain, run.config.schema());
        TableAdder.whenLocked(spec.id(), () -> adder.add(spec, () -> { }));
    }
}
