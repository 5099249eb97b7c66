package dev.scry.backfill.app;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.ops.Operations;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.model.ConnectionFactory;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.schema.SchemaModel;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.snapshot.SnapshotProgress;
import dev.scry.backfill.source.ChangeSources;
import dev.scry.backfill.source.EarlyStream;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * What the steps of one {@code snapshot}, {@code cdc} or {@code resume} command share (see
 * {@link PipelineCommands}): the pipeline's lock, the operations endpoint, the rate reporter and
 * one source and one shadow connection, held from {@link #open} to {@link #close}; and what the
 * steps learn on the way (the configuration with its tables resolved, the reader, the transform
 * chain, the source's schema).
 */
final class PipelineContext implements AutoCloseable {

    // Refined by the steps: tables resolved and joined, the DDL capture's key, the shadow's replica role.
    BackfillConfig config;
    final PrintWriter out;
    final CheckpointStore checkpoints;
    // One for the whole command, so that SIGHUP changes the limit of whatever runs (see RateReporter).
    final Throttle throttle;
    // Whether streaming ends once no table request is open: a command started the pipeline for its request.
    final boolean serveRequestsThenStop;
    // The reader this command streams with, and what it carries (see ChangeSources): chosen once the checkpoint is read.
    ChangeSources.Choice reader;
    TransformChain chain = TransformChain.NONE;
    // The configured tables' schema: read at start by the preflight, created by the shadow step.
    SchemaSync schema;
    SchemaModel sourceSchema;
    // Whether sourceSchema was read moments ago: nothing long (a snapshot, a table copied) ran since.
    boolean sourceSchemaJustRead;

    // The stream requested ahead of the first streaming run (see StreamStep.prepare), until that run takes it.
    EarlyStream earlyStream;

    // SIGHUPs handled when the command had read its configuration (see Signals.onReload(Runnable, long)).
    long reloadsAtOpen;

    // Null when metrics.port is 0.
    Operations ops;
    private InstanceLock lock;
    private RateReporter rates;
    Connection source;
    Connection shadow;

    private PipelineContext(BackfillConfig config, PrintWriter out, boolean serveRequestsThenStop) {
        this.config = config;
        this.out = out;
        this.serveRequestsThenStop = serveRequestsThenStop;
        this.checkpoints = new CheckpointStore(config.pipeline());
        this.throttle = new Throttle(config.rateLimit());
    }

    /** Takes the pipeline's lock, starts the endpoint and the rate reporter, connects to both sides. */
    static PipelineContext open(BackfillConfig config, PrintWriter out, boolean serveRequestsThenStop)
            throws SQLException, InterruptedException {
        PipelineContext context = new PipelineContext(config, out, serveRequestsThenStop);
        try {
            context.lock = context.acquireLock();
            context.startOperations();
            context.rates = new RateReporter(config, context.throttle);
            context.reloadsAtOpen = Signals.reloads();
            context.source = ConnectionFactory.open(config.source(), "source");
            context.shadow = ConnectionFactory.open(config.shadow(), "shadow");
            return context;
        }
        catch (SQLException | InterruptedException | RuntimeException e) {
            context.close();
            throw e;
        }
    }

    /**
     * A run of the pipeline over {@code specs}, writing to the shadow tables {@code shadowSpecs};
     * the first one streams from the {@link #earlyStream} if there is one.
     */
    PipelineRun newRun(Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs, SnapshotProgress progress) {
        EarlyStream early = earlyStream;
        earlyStream = null;
        return new PipelineRun(config, specs, shadowSpecs, checkpoints, progress, chain, throttle, ops, early, reloadsAtOpen);
    }

    /**
     * Takes the pipeline's lock, then starts the operations endpoint (if it is not running yet)
     * and marks it active. A standby starts the endpoint as soon as it has to wait, so that it
     * serves /health and /ready meanwhile: an orchestrator restarts or holds back an instance whose
     * endpoint does not answer, and a hot standby nobody can see is no standby. An instance that is
     * refused never opens the endpoint (its port may be the active instance's, on the same machine).
     */
    private InstanceLock acquireLock() throws SQLException, InterruptedException {
        InstanceLock acquired = InstanceLock.acquire(config.shadow(), config.pipeline(), config.standby(), () -> {
            if (startOperations() != null) {
                ops.standby();
            }
        });
        if (startOperations() != null) {
            ops.active();
        }
        return acquired;
    }

    /** The operations endpoint, started once per command; null when {@code metrics.port} is 0. */
    private Operations startOperations() {
        if (ops == null) {
            ops = Operations.start(config.metricsHost(), config.metricsPort(), config.pipeline(), config.source(), config.shadow(),
                    config.slot());
            if (ops != null) {
                ops.throttle(throttle);
            }
        }
        return ops;
    }

    /** Closes in the reverse order of {@link #open}: connections, rate reporter, endpoint, lock. */
    @Override
    public void close() throws SQLException {
        try (InstanceLock l = lock; Operations o = ops; RateReporter r = rates; Connection src = source; Connection dst = shadow;
             EarlyStream early = earlyStream) {
            // Resources close in reverse order of declaration, which is the order they were opened in.
        }
    }
}
