package dev.scry.backfill.app;

import java.io.PrintWriter;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.snapshot.SnapshotPlan;
import dev.scry.backfill.source.ChangeSources;
import dev.scry.backfill.source.SlotInfo;

/**
 * The {@code snapshot}, {@code cdc} and {@code resume} commands, each a short sequence of steps
 * over one {@link PipelineContext} (lock, endpoint, connections): resolve the tables, read the
 * checkpoint and decide, {@link Preflight} (everything checked before anything is written),
 * {@link SlotStep}, {@link SnapshotStep}, {@link StreamStep}; the stream runs under the
 * {@link RetryingRunner}, which owns retries and the failure policy.
 */
final class PipelineCommands {

    private static final Logger LOG = LoggerFactory.getLogger(PipelineCommands.class);

    /** How a streaming command starts, given what the checkpoint says. */
    enum Start {
        /** {@code cdc}: streams from the checkpoint, or from now on without one; refuses an unfinished snapshot. */
        CDC,
        /** {@code resume}: completes an unfinished snapshot first; refuses when there is no checkpoint. */
        RESUME,
        /** {@code resume --snapshot-if-new}: as {@code resume}, and takes the snapshot first when there is no checkpoint. */
        RESUME_OR_SNAPSHOT
    }

    private final BackfillConfig config;
    private final PrintWriter out;
    // Whether streaming ends once no table request is open: a command started the pipeline for its request.
    private boolean serveRequestsThenStop;

    PipelineCommands(BackfillConfig config, PrintWriter out) {
        this.config = config;
        this.out = out;
    }

    /** Streaming ends once the table requests are served (see {@link dev.scry.backfill.app.operator.TableOperator}). */
    PipelineCommands servingRequestsThenStopping() {
        serveRequestsThenStop = true;
        return this;
    }

    /** {@code snapshot}: copy the tables consistently with the slot, then stop. */
    int snapshot() throws SQLException, InterruptedException {
        try (PipelineContext run = PipelineContext.open(config, out, serveRequestsThenStop)) {
            run.config = ResolvedTables.of(run.config, run.source);
            run.reader = ChangeSources.choose(run.config.streamSettings(), Optional.empty());
            Map<TableId, TableSpec> specs = Preflight.check(run, false);
            Optional<Checkpoint> checkpoint = run.checkpoints.read(run.shadow);
            SnapshotPlan.Decision decision = SnapshotPlan.decide(checkpoint);
            switch (decision) {
                case COMPLETE -> {
                    out.printf("snapshot of pipeline %s already completed at %s (checkpoint LSN %s); nothing to copy."
                            + " Run `cdc` or `resume` to stream changes.%n", run.config.pipeline(), checkpoint.get().snapshotCompletedAt(),
                            checkpoint.get().lsn());
                    return 0;
                }
                case STREAMING_WITHOUT_SNAPSHOT -> throw new SetupException("pipeline " + run.config.pipeline()
                        + " is already streaming without a snapshot; to copy the existing rows start over with"
                        + " `teardown --drop-metadata`, empty the shadow tables, then `snapshot`");
                default -> {
                }
            }
            SnapshotStep.Start start = SnapshotStep.start(run, decision, checkpoint, specs);
            SlotStep.sayWhatAFailoverCosts(run);
            return SnapshotStep.copy(run, specs, start) ? 0 : 1;
        }
    }

    /** {@code cdc} and {@code resume}: stream from the checkpoint, after whatever snapshot {@code start} calls for. */
    int stream(Start start, boolean exitWhenCaughtUp) throws SQLException, InterruptedException {
        try (PipelineContext run = PipelineContext.open(config, out, serveRequestsThenStop)) {
            run.config = TableMembership.of(ResolvedTables.of(run.config, run.source), run.shadow);
            Optional<Checkpoint> checkpoint = run.checkpoints.read(run.shadow);
            boolean following = checkpoint.isPresent() && checkpoint.get().phase() == Phase.STREAMING;
            SnapshotPlan.Decision decision = SnapshotPlan.decide(checkpoint);
            // Refuses here, before anything is written, a checkpoint the configured reader cannot start from exactly.
            run.reader = ChangeSources.choose(run.config.streamSettings(), following ? checkpoint.get().offset() : Optional.empty());
            Map<TableId, TableSpec> specs = Preflight.check(run, following);
            Optional<SlotInfo> slot = SlotStep.prepare(run);
            refuseWhatStartCannotDo(run, start, decision);
            boolean snapshotFirst = decision == SnapshotPlan.Decision.RESTART
                    || decision == SnapshotPlan.Decision.FRESH && start == Start.RESUME_OR_SNAPSHOT;
            if (snapshotFirst) {
                if (decision == SnapshotPlan.Decision.FRESH) {
                    LOG.info("pipeline {} has no checkpoint: taking its snapshot, then streaming", run.config.pipeline());
                }
                if (!SnapshotStep.copy(run, specs, SnapshotStep.start(run, decision, checkpoint, specs))) {
                    return 1;
                }
            }
            Map<TableId, TableSpec> shadowSpecs = StreamStep.prepare(run, checkpoint, slot, specs, snapshotFirst);
            return StreamStep.stream(run, specs, shadowSpecs, exitWhenCaughtUp);
        }
    }

    /** {@code resume} needs a checkpoint (unless told to snapshot a new pipeline); {@code cdc} does not complete a snapshot. */
    private static void refuseWhatStartCannotDo(PipelineContext run, Start start, SnapshotPlan.Decision decision) {
        if (decision == SnapshotPlan.Decision.FRESH && start == Start.RESUME) {
            throw new SetupException("pipeline " + run.config.pipeline() + " has no checkpoint on the shadow " + run.config.shadow().describe()
                    + "; nothing to resume. Start it with `snapshot` (copy, then `cdc`) or `cdc` (changes from now on)");
        }
        if (decision == SnapshotPlan.Decision.RESTART && start == Start.CDC) {
            throw new SetupException("the snapshot of pipeline " + run.config.pipeline()
                    + " was interrupted; run `resume` to complete it and continue streaming");
        }
    }
}
