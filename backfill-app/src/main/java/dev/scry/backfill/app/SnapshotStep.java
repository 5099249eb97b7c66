package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.model.ConnectionFactory;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.schema.SequenceSync;
import dev.scry.backfill.snapshot.CopySnapshot;
import dev.scry.backfill.snapshot.SnapshotPlan;
import dev.scry.backfill.snapshot.SnapshotProgress;
import dev.scry.backfill.snapshot.SnapshotSettings;

/**
 * The snapshot step: {@link #start} checks the plan, decides whether an interrupted copy continues
 * and makes the first writes; {@link #copy} copies (COPY or Debezium's snapshot) and, once
 * complete, copies the sequences' values and prints the summary.
 */
final class SnapshotStep {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotStep.class);

    /** What a snapshot about to run does, and its progress; {@code continueFrom} is set when it continues an interrupted one. */
    record Start(SnapshotPlan.Decision decision, SnapshotProgress progress, Lsn continueFrom) {
    }

    private SnapshotStep() {
    }

    /**
     * Everything before a snapshot copies: the plan's checks, whether an interrupted copy
     * continues where it stopped (its slot, its journal and the same tables are there) or, as
     * Debezium's snapshot always does, starts over; the first writes; the progress estimate.
     */
    static Start start(PipelineContext run, SnapshotPlan.Decision decision, Optional<Checkpoint> checkpoint,
                       Map<TableId, TableSpec> specs) throws SQLException {
        Connection source = run.source;
        Connection shadow = run.shadow;
        SnapshotPlan.check(decision, run.config.pipeline(), run.config.slot(), run.config.tables(), source, shadow);
        if (decision == SnapshotPlan.Decision.RESTART) {
            Optional<String> why = copies(run)
                    ? CopySnapshot.whyNotContinuable(source, shadow, run.checkpoints, run.config.slot(), List.copyOf(specs.values()))
                    : Optional.of("Debezium's snapshot cannot be continued");
            if (why.isEmpty()) {
                LOG.info("the previous snapshot of pipeline {} was interrupted; continuing it where it stopped", run.config.pipeline());
                decision = SnapshotPlan.Decision.CONTINUE;
            }
            else {
                LOG.info("the previous snapshot of pipeline {} was interrupted and cannot be continued ({}); starting it over under"
                        + " a new slot", run.config.pipeline(), why.get());
            }
        }
        ShadowPreparation.prepare(run, specs, copies(run) ? ShadowPreparation.Load.DEFERRED : ShadowPreparation.Load.AT_ONCE);
        SnapshotPlan.prepare(decision, run.config.slot(), run.config.tables(), source, shadow, run.checkpoints);
        SnapshotProgress progress = new SnapshotProgress(run.config.tables());
        progress.estimate(source);
        return new Start(decision, progress, decision == SnapshotPlan.Decision.CONTINUE ? checkpoint.get().lsn() : null);
    }

    /**
     * Copies: the COPY snapshot, or Debezium's, which stops once complete (streaming then goes on
     * with the configured reader, as after a copy). False, said on the command's output, when a
     * signal stopped it before it completed.
     */
    static boolean copy(PipelineContext run, Map<TableId, TableSpec> specs, Start start) throws SQLException, InterruptedException {
        boolean completed = copies(run) ? copySnapshot(run, specs, start)
                : run.newRun(specs, specs, start.progress()).snapshotThenStop().snapshotCompleted();
        if (!completed) {
            run.out.printf("snapshot of pipeline %s stopped before completing; run `resume` to complete it%n", run.config.pipeline());
            return false;
        }
        syncSequences(run);
        start.progress().printSummary(run.out, run.config.pipeline());
        return true;
    }

    private static boolean copies(PipelineContext run) {
        return run.config.snapshot().method() == SnapshotSettings.Method.COPY;
    }

    /**
     * The COPY snapshot (see {@link CopySnapshot}), from scratch or continuing an interrupted one;
     * false when stopped by a signal before it completed.
     */
    private static boolean copySnapshot(PipelineContext run, Map<TableId, TableSpec> specs, Start start)
            throws SQLException, InterruptedException {
        SnapshotProgress progress = start.progress();
        org.slf4j.MDC.put("phase", Phase.SNAPSHOT.label());
        if (run.ops != null) {
            run.ops.phase("snapshot");
            run.ops.snapshot(progress::rows, progress.estimates());
        }
        CopySnapshot copy = new CopySnapshot(run.config.source(), run.config.shadow(), run.config.slot(), run.config.slotCreation(),
                run.checkpoints, List.copyOf(specs.values()), run.throttle, progress, run.config.snapshot(), run.chain);
        Signals.onTermination(copy::requestStop);
        if (!LogFormat.json()) {
            // Bars redrawn on a terminal are no JSON lines; the periodic progress log lines are.
            progress.startDisplay();
        }
        try {
            return (start.continueFrom() == null ? copy.run() : copy.continueRun(start.continueFrom())) != null;
        }
        finally {
            progress.stopDisplay();
        }
    }

    /** Copies the sequences' values to the shadow (end of a snapshot). */
    private static void syncSequences(PipelineContext run) throws SQLException {
        SequenceSync sync = new SequenceSync(run.sourceSchema.sequences());
        if (sync.isEmpty()) {
            return;
        }
        try (Connection source = ConnectionFactory.open(run.config.source(), "source");
             Connection shadow = ConnectionFactory.open(run.config.shadow(), "shadow")) {
            int moved = sync.sync(source, shadow);
            LOG.info("copied the values of {} of {} sequence(s) to the shadow", moved, run.sourceSchema.sequences().size());
        }
    }
}
