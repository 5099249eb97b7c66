package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.ReplicaIdentityFailure;
import dev.scry.backfill.error.RetryPolicy;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.model.ConnectionFactory;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowSchema;
import dev.scry.backfill.transform.TransformChain;

/**
 * Runs the stream ({@link PipelineRun}) and owns its failure policy:
 * <ul>
 * <li>a {@link TransientException} (the source connection failed: server restarted, walsender
 *     terminated, network) streams again from the checkpoint after a backoff with jitter
 *     ({@code retry.*}), until the source has been failing for {@code retry.give-up-after-s}; then
 *     exit 1. Nothing is lost: every run starts from what the shadow committed. A run that
 *     streamed a while resets the backoff;</li>
 * <li>a {@link ReplicaIdentityFailure} stops with exit 1 and the advice for that table;</li>
 * <li>a {@link SetupException} (exit 2) and a {@link PipelineFailure} (exit 1) stop at once;</li>
 * <li>SIGTERM/SIGINT while waiting to retry ends with exit 0.</li>
 * </ul>
 */
final class RetryingRunner {

    private static final Logger LOG = LoggerFactory.getLogger(RetryingRunner.class);
    // A run that lasted this long streamed: its failure starts a new series of attempts.
    private static final long RESET_AFTER_NANOS = 60_000_000_000L;

    private final PipelineContext run;

    RetryingRunner(PipelineContext run) {
        this.run = run;
    }

    /** Streams over {@code specs} into {@code shadowSpecs} until stopped, caught up or failed for good; returns the exit code. */
    int stream(Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs, boolean exitWhenCaughtUp)
            throws InterruptedException {
        try {
            return streamWithRetries(specs, shadowSpecs, exitWhenCaughtUp);
        }
        catch (ReplicaIdentityFailure e) {
            throw new PipelineFailure(IdentityAdvice.of(run.config, e), e);
        }
    }

    private int streamWithRetries(Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs, boolean exitWhenCaughtUp)
            throws InterruptedException {
        RetryPolicy retry = run.config.retry();
        RetryPolicy.Attempts attempts = retry.start();
        AtomicBoolean stopping = new AtomicBoolean();
        Map<TableId, TableSpec> current = shadowSpecs;
        while (true) {
            long started = System.nanoTime();
            try {
                PipelineRun pipeline = run.newRun(specs, current, null);
                if (run.serveRequestsThenStop) {
                    pipeline.servingRequestsThenStopping();
                }
                return report(pipeline.streamOnly(exitWhenCaughtUp), exitWhenCaughtUp);
            }
            catch (TransientException e) {
                if (System.nanoTime() - started > RESET_AFTER_NANOS) {
                    attempts = retry.start();
                }
                long delay = attempts.nextDelayMillis();
                if (delay < 0) {
                    throw new PipelineFailure("the source " + run.config.source().describe() + " kept failing for "
                            + retry.giveUpAfter().toSeconds() + " s (" + e.getMessage() + "); the checkpoint is on the"
                            + " shadow, run `resume` once the source is back", e);
                }
                LOG.warn("not ready: the source connection failed ({}); streaming again from the checkpoint in {} ms (attempt {})",
                        e.getMessage(), delay, attempts.failures());
                if (run.ops != null) {
                    run.ops.phase("waiting for the source");
                    run.ops.error();
                    run.ops.retried();
                }
                Signals.onTermination(() -> stopping.set(true));
                long until = System.currentTimeMillis() + delay;
                while (System.currentTimeMillis() < until && !stopping.get()) {
                    Thread.sleep(Math.min(100, Math.max(1, until - System.currentTimeMillis())));
                }
                if (stopping.get()) {
                    run.out.printf("pipeline %s stopped while waiting for the source%n", run.config.pipeline());
                    return 0;
                }
                Refreshed refreshed = refresh();
                if (refreshed != null) {
                    specs = refreshed.specs();
                    current = refreshed.shadowSpecs();
                }
            }
        }
    }

    private record Refreshed(Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs) {
    }

    /** Tables may have joined, and schema changes been followed, in the failed run; null while still unreachable. */
    private Refreshed refresh() {
        try (Connection source = ConnectionFactory.open(run.config.source(), "source");
             Connection shadow = ConnectionFactory.open(run.config.shadow(), "shadow")) {
            run.config = TableMembership.of(ResolvedTables.of(run.config, source), shadow);
            Map<TableId, TableSpec> refreshed = run.reader.preflight(source, run.config.source().describe())
                    .check(run.config.tables(), TransformChain.dropsColumn(run.config.transforms()));
            Map<TableId, TableSpec> shadowNow = new LinkedHashMap<>();
            for (TableSpec spec : List.copyOf(refreshed.values())) {
                try {
                    shadowNow.put(spec.id(), ShadowSchema.current(shadow, run.chain.shape(spec)));
                }
                catch (SetupException notCopiedYet) {
                    // Created since and not copied yet: the run's table watcher adds it.
                    refreshed.remove(spec.id());
                }
            }
            return new Refreshed(refreshed, shadowNow);
        }
        catch (SQLException | RuntimeException ignored) {
            // Still unreachable, or a table not on the shadow yet: the next run starts from what is known.
            return null;
        }
    }

    private int report(PipelineRun.Result result, boolean exitWhenCaughtUp) {
        if (exitWhenCaughtUp && result.caughtUp()) {
            run.out.printf("pipeline %s caught up: every change committed on the source before %s is on the shadow"
                    + " (checkpoint LSN %s, %d changes applied in this run)%n", run.config.pipeline(), result.markerLsn(),
                    result.lastLsn(), result.changesApplied());
            return 0;
        }
        run.out.printf("pipeline %s stopped (%d changes applied in this run%s)%n", run.config.pipeline(), result.changesApplied(),
                result.lastLsn().equals(Lsn.ZERO) ? "" : ", checkpoint LSN " + result.lastLsn());
        return 0;
    }
}
