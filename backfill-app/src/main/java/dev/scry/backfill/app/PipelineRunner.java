package dev.scry.backfill.app;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.ops.Operations;
import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.ReplicaIdentityFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.sink.RetryPolicy;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowSchema;
import dev.scry.backfill.sink.ReplicaRole;
import dev.scry.backfill.sink.ShadowTypes;
import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.sink.schema.ObjectKind;
import dev.scry.backfill.sink.schema.SchemaDiff;
import dev.scry.backfill.sink.schema.SchemaModel;
import dev.scry.backfill.sink.schema.SchemaPlan;
import dev.scry.backfill.sink.schema.SchemaScope;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.sink.schema.SequenceSync;
import dev.scry.backfill.source.DdlCapture;
import dev.scry.backfill.snapshot.TransformShaping;
import dev.scry.backfill.snapshot.CopySnapshot;
import dev.scry.backfill.snapshot.SnapshotPlan;
import dev.scry.backfill.snapshot.SnapshotProgress;
import dev.scry.backfill.snapshot.SnapshotSettings;
import dev.scry.backfill.snapshot.TableAdder;
import dev.scry.backfill.source.FailoverReadiness;
import dev.scry.backfill.source.ChangeSources;
import dev.scry.backfill.source.ResumableSlot;
import dev.scry.backfill.source.SlotCreation;
import dev.scry.backfill.source.SlotInfo;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourceCatalog;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * The {@code snapshot}, {@code cdc} and {@code resume} commands: decide from the checkpoint what
 * to do, check everything that can be checked before writing anything, prepare the shadow and the
 * source, then run the pipeline (see {@link PipelineRun}).
 */
final class PipelineRunner {

    private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

    private BackfillConfig config;
    // The reader this command streams with, and what it carries (see ChangeSources): chosen once the checkpoint is read.
    private ChangeSources.Choice reader;
    private TransformChain chain = TransformChain.NONE;
    // One for the whole command, so that SIGHUP changes the limit of whatever runs (see RateReporter).
    private final Throttle throttle;
    private final PrintWriter out;
    private final CheckpointStore checkpoints;
    // Whether streaming ends once no table request is open: a command started the pipeline for its request.
    private boolean serveRequestsThenStop;
    // The configured tables' schema: read at start by preflight, created by prepareWrites.
    private SchemaSync schema;
    private SchemaModel sourceSchema;

    PipelineRunner(BackfillConfig config, PrintWriter out) {
        this.config = config;
        this.out = out;
        this.checkpoints = new CheckpointStore(config.pipeline());
        this.throttle = new Throttle(config.rateLimit());
    }

    /** Streaming ends once the table requests are served (see {@link dev.scry.backfill.app.operator.TableOperator}). */
    PipelineRunner servingRequestsThenStopping() {
        serveRequestsThenStop = true;
        return this;
    }

    /** {@code snapshot}: copy the tables consistently with the slot, then stop. */
    int snapshot() throws SQLException, InterruptedException {
        try (InstanceLock lock = acquireLock();
             Operations ops = startOperations();
             RateReporter rates = new RateReporter(config, throttle);
             Connection source = Connect.open(config.source(), "source"); Connection shadow = Connect.open(config.shadow(), "shadow")) {
            config = ResolvedTables.of(config, source);
            reader = ChangeSources.choose(config.streamSettings(), Optional.empty());
            Map<TableId, TableSpec> specs = preflight(source, shadow, false);
            Optional<Checkpoint> checkpoint = checkpoints.read(shadow);
            SnapshotPlan.Decision decision = SnapshotPlan.decide(checkpoint);
            switch (decision) {
                case COMPLETE -> {
                    out.printf("snapshot of pipeline %s already completed at %s (checkpoint LSN %s); nothing to copy."
                            + " Run `cdc` or `resume` to stream changes.%n", config.pipeline(), checkpoint.get().snapshotCompletedAt(),
                            checkpoint.get().lsn());
                    return 0;
                }
                case STREAMING_WITHOUT_SNAPSHOT -> throw new SetupException("pipeline " + config.pipeline()
                        + " is already streaming without a snapshot; to copy the existing rows start over with"
                        + " `teardown --drop-metadata`, empty the shadow tables, then `snapshot`");
                default -> {
                }
            }
            SnapshotStart start = startSnapshot(decision, checkpoint, specs, source, shadow);
            sayWhatAFailoverCosts(source, new SourceAdmin(source).slot(config.slot()));
            SnapshotProgress progress = start.progress();
            boolean completed = config.snapshot().method() == SnapshotSettings.Method.COPY
                    ? copySnapshot(specs, start)
                    : newRun(specs, specs, progress).snapshotThenStop().snapshotCompleted();
            if (!completed) {
                out.printf("snapshot of pipeline %s stopped before completing; run `resume` to complete it%n", config.pipeline());
                return 1;
            }
            syncSequences();
            progress.printSummary(out, config.pipeline());
            return 0;
        }
    }

    /** How a streaming command starts, given what the checkpoint says. */
    enum Start {
        /** {@code cdc}: streams from the checkpoint, or from now on without one; refuses an unfinished snapshot. */
        CDC,
        /** {@code resume}: completes an unfinished snapshot first; refuses when there is no checkpoint. */
        RESUME,
        /** {@code resume --snapshot-if-new}: as {@code resume}, and takes the snapshot first when there is no checkpoint. */
        RESUME_OR_SNAPSHOT
    }

    /** {@code cdc} and {@code resume}: stream from the checkpoint, after whatever snapshot {@code start} calls for. */
    int stream(Start start, boolean exitWhenCaughtUp) throws SQLException, InterruptedException {
        boolean resume = start != Start.CDC;
        try (InstanceLock lock = acquireLock();
             Operations ops = startOperations();
             RateReporter rates = new RateReporter(config, throttle);
             Connection source = Connect.open(config.source(), "source"); Connection shadow = Connect.open(config.shadow(), "shadow")) {
            config = TableMembership.of(ResolvedTables.of(config, source), shadow);
            Optional<Checkpoint> checkpoint = checkpoints.read(shadow);
            boolean following = checkpoint.isPresent() && checkpoint.get().phase() == Phase.STREAMING;
            SnapshotPlan.Decision decision = SnapshotPlan.decide(checkpoint);
            // Refuses here, before anything is written, a checkpoint the configured reader cannot start from exactly.
            reader = ChangeSources.choose(config.streamSettings(), following ? checkpoint.get().offset() : Optional.empty());
            Map<TableId, TableSpec> specs = preflight(source, shadow, following);
            SourceAdmin admin = new SourceAdmin(source);
            if (config.standby()) {
                awaitSlotReleased(admin);
            }
            Optional<SlotInfo> slot = admin.idleSlot(config.slot(), config.pipeline());
            if (slot.isPresent()) {
                makeFailoverSlot(admin, slot.get());
            }
            if (decision == SnapshotPlan.Decision.FRESH && start == Start.RESUME) {
                throw new SetupException("pipeline " + config.pipeline() + " has no checkpoint on the shadow " + config.shadow().describe()
                        + "; nothing to resume. Start it with `snapshot` (copy, then `cdc`) or `cdc` (changes from now on)");
            }
            boolean snapshotTaken = false;
            if (decision == SnapshotPlan.Decision.RESTART && !resume) {
                throw new SetupException("the snapshot of pipeline " + config.pipeline()
                        + " was interrupted; run `resume` to complete it and continue streaming");
            }
            if (decision == SnapshotPlan.Decision.RESTART || decision == SnapshotPlan.Decision.FRESH && start == Start.RESUME_OR_SNAPSHOT) {
                if (decision == SnapshotPlan.Decision.FRESH) {
                    LOG.info("pipeline {} has no checkpoint: taking its snapshot, then streaming", config.pipeline());
                }
                SnapshotStart snapshot = startSnapshot(decision, checkpoint, specs, source, shadow);
                SnapshotProgress progress = snapshot.progress();
                // Debezium's snapshot stops once complete; streaming then goes on with the configured reader, as after a copy.
                boolean completed = config.snapshot().method() == SnapshotSettings.Method.DEBEZIUM
                        ? newRun(specs, specs, progress).snapshotThenStop().snapshotCompleted()
                        : copySnapshot(specs, snapshot);
                if (!completed) {
                    out.printf("snapshot of pipeline %s stopped before completing; run `resume` to complete it%n", config.pipeline());
                    return 1;
                }
                syncSequences();
                progress.printSummary(out, config.pipeline());
                snapshotTaken = true;
            }
            List<TableSpec> toAdd = new java.util.ArrayList<>();
            if (checkpoint.isPresent() && checkpoint.get().phase() == Phase.STREAMING) {
                ResumableSlot.check(config.slot(), checkpoint.get().lsn(), slot, config.source().describe());
                toAdd = tablesAddedSinceSnapshot(checkpoint.get(), source, shadow, specs);
                LOG.info("pipeline {}: resuming streaming from checkpoint LSN {}", config.pipeline(), checkpoint.get().lsn());
            }
            else if (checkpoint.isPresent() || snapshotTaken) {
                LOG.info("pipeline {}: streaming from the end of its snapshot", config.pipeline());
            }
            else if (slot.isPresent()) {
                LOG.info("pipeline {} has no checkpoint: streaming from replication slot {} at {}; changes before it are not copied"
                        + " (run `snapshot` to copy existing rows)", config.pipeline(), config.slot(), slot.get().confirmedFlush());
            }
            else {
                LOG.info("pipeline {} has no checkpoint: creating replication slot {} and streaming changes committed from now on;"
                        + " existing rows are not copied (run `snapshot` for those)", config.pipeline(), config.slot());
            }
            Map<TableId, TableSpec> published = new LinkedHashMap<>(specs);
            toAdd.forEach(t -> published.remove(t.id()));
            Map<TableId, TableSpec> shadowSpecs = prepareWrites(source, shadow, published, following ? Load.FOLLOWING : Load.AT_ONCE);
            for (TableSpec spec : toAdd) {
                addTable(spec);
                shadowSpecs.put(spec.id(), ShadowSchema.current(shadow, chain.shape(spec)));
            }
            sayWhatAFailoverCosts(source, admin.slot(config.slot()));
            if (ops != null) {
                // Snapshot figures stay visible while streaming: what the snapshot copied, of the estimate.
                SnapshotProgress copied = new SnapshotProgress(List.copyOf(specs.keySet()));
                copied.estimate(source);
                copied.add(checkpoints.progress(shadow));
                ops.snapshot(copied::rows, copied.estimates());
            }
            try (SequenceSchedule schedule = SequenceSchedule.start(config, new SequenceSync(sourceSchema.sequences()));
                 SchemaDriftSchedule drift = SchemaDriftSchedule.start(config, schema, ops, sourceSchema)) {
                int code = streamWithRetries(specs, shadowSpecs, exitWhenCaughtUp);
                if (exitWhenCaughtUp) {
                    schedule.syncNow();
                }
                return code;
            }
            catch (ReplicaIdentityFailure e) {
                throw new PipelineFailure(IdentityAdvice.of(config, e), e);
            }
        }
    }

    /**
     * Streams, and when the source connection fails (server restarted, walsender terminated,
     * network) streams again from the checkpoint after a backoff with jitter, until the source
     * has been failing for {@code retry.give-up-after-s}. Nothing is lost: every run starts from
     * what the shadow committed. A run that streamed a while resets the backoff.
     */
    private int streamWithRetries(Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs, boolean exitWhenCaughtUp)
            throws SQLException, InterruptedException {
        RetryPolicy.Attempts attempts = config.retry().start();
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        Map<TableId, TableSpec> current = shadowSpecs;
        while (true) {
            long started = System.nanoTime();
            try {
                PipelineRun run = newRun(specs, current, null);
                if (serveRequestsThenStop) {
                    run.servingRequestsThenStopping();
                }
                return report(run.streamOnly(exitWhenCaughtUp), exitWhenCaughtUp);
            }
            catch (TransientException e) {
                if (System.nanoTime() - started > 60_000_000_000L) {
                    attempts = config.retry().start();
                }
                long delay = attempts.nextDelayMillis();
                if (delay < 0) {
                    throw new PipelineFailure("the source " + config.source().describe() + " kept failing for "
                            + config.retry().giveUpAfter().toSeconds() + " s (" + e.getMessage() + "); the checkpoint is on the"
                            + " shadow, run `resume` once the source is back", e);
                }
                LOG.warn("not ready: the source connection failed ({}); streaming again from the checkpoint in {} ms (attempt {})",
                        e.getMessage(), delay, attempts.failures());
                if (ops != null) {
                    ops.phase("waiting for the source");
                    ops.error();
                    ops.retried();
                }
                Signals.onTermination(() -> stopping.set(true));
                long until = System.currentTimeMillis() + delay;
                while (System.currentTimeMillis() < until && !stopping.get()) {
                    Thread.sleep(Math.min(100, Math.max(1, until - System.currentTimeMillis())));
                }
                if (stopping.get()) {
                    out.printf("pipeline %s stopped while waiting for the source%n", config.pipeline());
                    return 0;
                }
                // Tables may have joined, and schema changes been followed, in the failed run.
                try (Connection source = Connect.open(config.source(), "source"); Connection shadow = Connect.open(config.shadow(), "shadow")) {
                    config = TableMembership.of(ResolvedTables.of(config, source), shadow);
                    Map<TableId, TableSpec> refreshed = reader.preflight(source, config.source().describe())
                            .check(config.tables(), TransformChain.dropsColumn(config.transforms()));
                    Map<TableId, TableSpec> shadowNow = new LinkedHashMap<>();
                    for (TableSpec spec : List.copyOf(refreshed.values())) {
                        try {
                            shadowNow.put(spec.id(), ShadowSchema.current(shadow, chain.shape(spec)));
                        }
                        catch (SetupException notCopiedYet) {
                            // Created since and not copied yet: the run's table watcher adds it.
                            refreshed.remove(spec.id());
                        }
                    }
                    specs = refreshed;
                    current = shadowNow;
                }
                catch (SQLException | RuntimeException ignored) {
                    // Still unreachable, or a table not on the shadow yet: the next run starts from what is known.
                }
            }
        }
    }

    /**
     * A standby that just took over: the dead instance's walsender can hold the slot for a moment
     * after its client is gone. Waits (bounded) for it to let go.
     */
    private void awaitSlotReleased(SourceAdmin admin) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline && admin.slot(config.slot()).map(SlotInfo::active).orElse(false)) {
            Thread.sleep(200);
        }
    }

    private int report(PipelineRun.Result result, boolean exitWhenCaughtUp) {
        if (exitWhenCaughtUp && result.caughtUp()) {
            out.printf("pipeline %s caught up: every change committed on the source before %s is on the shadow"
                    + " (checkpoint LSN %s, %d changes applied in this run)%n", config.pipeline(), result.markerLsn(),
                    result.lastLsn(), result.changesApplied());
            return 0;
        }
        out.printf("pipeline %s stopped (%d changes applied in this run%s)%n", config.pipeline(), result.changesApplied(),
                result.lastLsn().equals(Lsn.ZERO) ? "" : ", checkpoint LSN " + result.lastLsn());
        return 0;
    }

    /**
     * An existing slot becomes a failover slot where it should be one (see {@link SlotCreation#upgrade}):
     * a slot created by an older version, or before the source was upgraded to PostgreSQL 17.
     */
    private void makeFailoverSlot(SourceAdmin admin, SlotInfo slot) throws SQLException {
        if (slot.failover() || !config.slotCreation().failoverOn(admin.server())) {
            return;
        }
        try (Connection replication = Connect.openReplication(config.source())) {
            config.slotCreation().upgrade(replication, admin.server(), config.slot(), false);
        }
    }

    /** One line at start: whether a failover of the source would cost a new snapshot (see {@link FailoverReadiness}). */
    private void sayWhatAFailoverCosts(Connection source, Optional<SlotInfo> slot) throws SQLException {
        FailoverReadiness readiness = FailoverReadiness.assess(source, slot, config.slotCreation(), config.tables(),
                config.source().primaryOfSeveral());
        if (readiness.ready()) {
            LOG.info("pipeline {}: {}", config.pipeline(), readiness.summary());
        }
        else {
            LOG.warn("pipeline {}: {}", config.pipeline(), readiness.summary());
        }
    }

    /** Everything checked before anything is written: the source's readiness and the shadow tables' shape. */
    private Map<TableId, TableSpec> preflight(Connection source, Connection shadow, boolean following) throws SQLException {
        ShadowVersion.check(source, shadow, config.shadow().describe());
        // A standby's problems and the tables' come in one message.
        List<String> standby = new java.util.ArrayList<>(reader.standbyProblems(source, config.source().describe(),
                config.publication(), config.tables()));
        Map<TableId, TableSpec> specs;
        try {
            specs = reader.preflight(source, config.source().describe())
                    .check(config.tables(), TransformChain.dropsColumn(config.transforms()));
        }
        catch (SetupException e) {
            if (standby.isEmpty()) {
                throw e;
            }
            standby.add(e.getMessage());
            throw SetupException.ofAll("the standby " + config.source().describe() + " cannot feed the pipeline as it is", standby);
        }
        if (!standby.isEmpty()) {
            throw SetupException.ofAll("the standby " + config.source().describe() + " cannot feed the pipeline as it is", standby);
        }
        try {
            chain = TransformChain.create(config.transforms(), List.copyOf(specs.values()));
        }
        catch (IllegalArgumentException e) {
            throw new SetupException(e.getMessage(), e);
        }
        ShadowTypes.check(source, shadow, columnsKeepingType(source, specs));
        ShadowSchema.check(shadow, shaped(specs).values(), following);
        schema = new SchemaSync(new SchemaScope(List.copyOf(specs.keySet()), config.wholeSchemas(schemas(source)),
                new TransformShaping(chain, specs.values()), config.schema()));
        SchemaPlan plan = schema.plan(source, shadow);
        sourceSchema = plan.source();
        ShadowTypes.checkTypes(source, shadow, sourceSchema.types());
        if (!following) {
            // A pipeline already streaming meets the source's later schema changes as they come.
            plan.diff().refuseDifferences();
        }
        checkRoles(shadow, plan.source().roles());
        if (config.schema().captureDdl()) {
            Optional<String> why = reader.whyNoCapturedDdl();
            if (why.isPresent()) {
                throw new SetupException("schema.capture-ddl: " + why.get() + ". Set schema.capture-ddl: false (the drift check follows"
                        + " what it can)");
            }
            // Before the slot exists, so that no schema change after the stream's start escapes it.
            DdlCapture capture = new DdlCapture(source);
            capture.install(config.standby(), config.source().describe());
            config = config.withSchema(config.schema().withCaptureKey(capture.key(config.source().describe())));
        }
        config = config.withShadow(ReplicaRole.apply(config.shadow(), shadow, plan.needsReplicaRole()));
        return specs;
    }

    /** Every schema of the source database, for finding those a pattern takes whole. */
    static List<String> schemas(Connection source) throws SQLException {
        List<String> out = new java.util.ArrayList<>();
        try (var st = source.createStatement(); var rs = st.executeQuery("""
                SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1""")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** Source relation OID to the columns whose type reaches the shadow: what {@link ShadowTypes} must provide. */
    private Map<Long, java.util.Set<String>> columnsKeepingType(Connection source, Map<TableId, TableSpec> specs) throws SQLException {
        Map<Long, java.util.Set<String>> out = new LinkedHashMap<>();
        SourceCatalog catalog = new SourceCatalog(source);
        for (TableSpec spec : specs.values()) {
            catalog.relation(spec.id()).ifPresent(r -> out.put(r.oid(), chain.columnsKeepingType(spec)));
        }
        return out;
    }

    /** Owners and grantees that schema.copy-ownership / copy-privileges would name must exist on the shadow: all named at once. */
    private void checkRoles(Connection shadow, java.util.Set<String> roles) throws SQLException {
        if (roles.isEmpty()) {
            return;
        }
        java.util.Set<String> missing = new java.util.TreeSet<>(roles);
        try (var ps = shadow.prepareStatement("SELECT rolname FROM pg_roles WHERE rolname = ANY (?)")) {
            ps.setArray(1, shadow.createArrayOf("text", roles.toArray()));
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    missing.remove(rs.getString(1));
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new SetupException("role(s) " + String.join(", ", missing) + " own or are granted objects on the source but do not"
                    + " exist on the shadow " + config.shadow().describe() + "; create them on the shadow (CREATE ROLE ...) or set"
                    + " schema.copy-ownership and schema.copy-privileges to false");
        }
    }

    /** Copies the sequences' values to the shadow (end of a snapshot). */
    private void syncSequences() throws SQLException {
        SequenceSync sync = new SequenceSync(sourceSchema.sequences());
        if (sync.isEmpty()) {
            return;
        }
        try (Connection source = Connect.open(config.source(), "source"); Connection shadow = Connect.open(config.shadow(), "shadow")) {
            int moved = sync.sync(source, shadow);
            LOG.info("copied the values of {} of {} sequence(s) to the shadow", moved, sourceSchema.sequences().size());
        }
    }

    /** The shadow's shape of each table: the source's after the transforms. */
    private Map<TableId, TableSpec> shaped(Map<TableId, TableSpec> specs) {
        Map<TableId, TableSpec> out = new LinkedHashMap<>();
        specs.forEach((id, spec) -> out.put(id, chain.shape(spec)));
        return out;
    }

    /**
     * Tables in {@code tables} that the snapshot did not copy (added to the configuration, or
     * created on the source and matched by a pattern, since), or that are missing from the
     * publication: each is published and copied by {@link TableAdder} before streaming, so that
     * its existing rows are not missed. Pipelines that stream without a snapshot copy nothing.
     */
    private List<TableSpec> tablesAddedSinceSnapshot(Checkpoint checkpoint, Connection source, Connection shadow,
                                                     Map<TableId, TableSpec> specs) throws SQLException {
        if (!checkpoint.snapshotCompleted()) {
            return List.of();
        }
        Map<TableId, ?> copied = checkpoints.progress(shadow);
        // A table being copied by chunks goes on copying under its request (see TableOperator).
        Map<TableId, dev.scry.backfill.checkpoint.TableStates.Entry> states = new dev.scry.backfill.checkpoint.TableStates(config.pipeline())
                .read(shadow);
        java.util.Set<TableId> published = new SourceAdmin(source).publicationExists(config.publication())
                ? new SourceAdmin(source).publishedTables(config.publication()) : java.util.Set.of();
        List<TableSpec> out = new java.util.ArrayList<>();
        for (TableSpec spec : specs.values()) {
            boolean copying = states.containsKey(spec.id())
                    && states.get(spec.id()).state() == dev.scry.backfill.checkpoint.TableStates.State.COPYING;
            if (!copying && (!copied.containsKey(spec.id()) || !published.contains(spec.id()))) {
                LOG.info("table {} is in `tables` but was not copied by the snapshot; copying it before streaming", spec.id());
                out.add(spec);
            }
        }
        return out;
    }

    /**
     * Where drop-columns can be pushed into the publication (PostgreSQL 15 column lists) so the
     * columns never leave the source: tables whose replica identity is a key (a column list must
     * hold it; REPLICA IDENTITY FULL allows none). Elsewhere the pipeline drops them. Says which.
     */
    private Map<TableId, List<String>> columnLists(Connection source, Map<TableId, TableSpec> specs) throws SQLException {
        Map<TableId, List<String>> lists = new LinkedHashMap<>();
        SourceCatalog catalog = new SourceCatalog(source);
        boolean columnListsExist = new SourceAdmin(source).server().major() >= 15;
        for (TableSpec spec : specs.values()) {
            java.util.Set<String> dropped = chain.droppedColumns(spec.id());
            if (!dropped.isEmpty()) {
                char identity = catalog.relation(spec.id()).map(SourceCatalog.Relation::replicaIdentity).orElse('f');
                if (!columnListsExist) {
                    LOG.info("drop-columns on {}: {} dropped in the pipeline (PostgreSQL 14 has no publication column lists)",
                            spec.id(), dropped);
                }
                else if (spec.hasPrimaryKey() && identity != 'f') {
                    lists.put(spec.id(), spec.columns().stream().map(c -> c.name()).filter(n -> !dropped.contains(n)).toList());
                    LOG.info("drop-columns on {}: {} left out of the publication (column list), so they never leave the source",
                            spec.id(), dropped);
                }
                else {
                    LOG.info("drop-columns on {}: {} dropped in the pipeline (REPLICA IDENTITY FULL allows no column list)",
                            spec.id(), dropped);
                }
            }
            if (chain.filters(spec.id())) {
                LOG.info("filter-rows on {}: applied in the pipeline (a publication row filter on columns outside the replica"
                        + " identity would make UPDATE and DELETE fail on the source)", spec.id());
            }
        }
        return lists;
    }

    /** Publishes and copies one table (see {@link TableAdder}), waiting while it is busy. */
    private void addTable(TableSpec spec) throws SQLException, InterruptedException {
        TableAdder adder = new TableAdder(config.source(), config.shadow(), config.publication(), checkpoints,
                throttle, chain, config.schema());
        TableAdder.whenLocked(spec.id(), () -> adder.add(spec, () -> { }));
    }

    /** How a run creates the shadow's schema objects. */
    private enum Load {
        /** A copy snapshot: pre-data now, post-data journalled and built after the rows are in. */
        DEFERRED,
        /** Everything at once (streaming from scratch, Debezium's snapshot, which applies through keys). */
        AT_ONCE,
        /** A pipeline already streaming: only tables missing on the shadow, with their objects. */
        FOLLOWING
    }

    /**
     * The first writes of a run: metadata schema, types, the schema objects the shadow lacks,
     * publication. Returns the shadow tables as they are, which is what the sink writes to.
     */
    private Map<TableId, TableSpec> prepareWrites(Connection source, Connection shadow, Map<TableId, TableSpec> specs, Load load)
            throws SQLException {
        MetadataSchema.ensure(shadow);
        ShadowTypes.ensure(source, shadow, columnsKeepingType(source, specs));
        ShadowTypes.ensureTypes(source, shadow, sourceSchema.types());
        SchemaSync sync = schema;
        if (load == Load.FOLLOWING) {
            List<TableId> missing = new java.util.ArrayList<>();
            for (TableId table : specs.keySet()) {
                if (ShadowSchema.describe(shadow, table).isEmpty()) {
                    missing.add(table);
                }
            }
            sync = missing.isEmpty() ? null : new SchemaSync(schema.scope().only(missing));
        }
        if (sync != null) {
            // Read again: a snapshot just completed has built what the start-up reading lacked.
            SchemaDiff diff = sync.createMissing(source, shadow, load == Load.DEFERRED ? new SnapshotJournal(config.pipeline()) : null);
            if (!diff.missing().isEmpty()) {
                int later = load == Load.DEFERRED ? diff.missing(ObjectKind.Section.POST_DATA).size() : 0;
                LOG.info("created {} schema object(s) on the shadow{}", diff.missing().size() - later, later == 0 ? ""
                        : "; " + later + " more (keys, indexes, constraints, triggers) are built once their rows are in");
            }
        }
        SourceAdmin admin = new SourceAdmin(source);
        if (admin.server().standby()) {
            // Created on the primary and checked by the preflight: a standby writes nothing.
            LOG.info("reading from the standby {}: publication {} comes from the primary", config.source().describe(), config.publication());
        }
        else {
            admin.ensurePublication(config.publication(), specs.keySet(), columnLists(source, specs));
        }
        Map<TableId, TableSpec> current = new LinkedHashMap<>();
        for (TableSpec spec : specs.values()) {
            current.put(spec.id(), ShadowSchema.current(shadow, chain.shape(spec)));
        }
        return current;
    }

    private Operations ops;

    /**
     * Takes the pipeline's lock, then starts the operations endpoint (if it is not running yet)
     * and marks it active. A standby starts the endpoint as soon as it has to wait, so that it
     * serves /health and /ready meanwhile: an orchestrator restarts or holds back an instance whose
     * endpoint does not answer, and a hot standby nobody can see is no standby. An instance that is
     * refused never opens the endpoint (its port may be the active instance's, on the same machine).
     */
    private InstanceLock acquireLock() throws SQLException, InterruptedException {
        try {
            InstanceLock lock = InstanceLock.acquire(config.shadow(), config.pipeline(), config.standby(), () -> {
                if (startOperations() != null) {
                    ops.standby();
                }
            });
            if (startOperations() != null) {
                ops.active();
            }
            return lock;
        }
        catch (SQLException | InterruptedException | RuntimeException e) {
            if (ops != null) {
                ops.close();
            }
            throw e;
        }
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

    /** What a snapshot about to run does, and its progress; {@code continueFrom} is set when it continues an interrupted one. */
    private record SnapshotStart(SnapshotPlan.Decision decision, SnapshotProgress progress, Lsn continueFrom) {
    }

    /**
     * Everything before a snapshot copies: the plan's checks, whether an interrupted copy
     * continues where it stopped (its slot, its journal and the same tables are there) or, as
     * Debezium's snapshot always does, starts over; the first writes; the progress estimate.
     */
    private SnapshotStart startSnapshot(SnapshotPlan.Decision decision, Optional<Checkpoint> checkpoint, Map<TableId, TableSpec> specs,
                                        Connection source, Connection shadow) throws SQLException {
        SnapshotPlan.check(decision, config.pipeline(), config.slot(), config.tables(), source, shadow);
        if (decision == SnapshotPlan.Decision.RESTART) {
            Optional<String> why = config.snapshot().method() == SnapshotSettings.Method.COPY
                    ? CopySnapshot.whyNotContinuable(source, shadow, checkpoints, config.slot(), List.copyOf(specs.values()))
                    : Optional.of("Debezium's snapshot cannot be continued");
            if (why.isEmpty()) {
                LOG.info("the previous snapshot of pipeline {} was interrupted; continuing it where it stopped", config.pipeline());
                decision = SnapshotPlan.Decision.CONTINUE;
            }
            else {
                LOG.info("the previous snapshot of pipeline {} was interrupted and cannot be continued ({}); starting it over under"
                        + " a new slot", config.pipeline(), why.get());
            }
        }
        prepareWrites(source, shadow, specs, config.snapshot().method() == SnapshotSettings.Method.COPY ? Load.DEFERRED : Load.AT_ONCE);
        SnapshotPlan.prepare(decision, config.slot(), config.tables(), source, shadow, checkpoints);
        SnapshotProgress progress = new SnapshotProgress(config.tables());
        progress.estimate(source);
        return new SnapshotStart(decision, progress, decision == SnapshotPlan.Decision.CONTINUE ? checkpoint.get().lsn() : null);
    }

    /**
     * The COPY snapshot (see {@link CopySnapshot}), from scratch or continuing an interrupted one;
     * false when stopped by a signal before it completed.
     */
    private boolean copySnapshot(Map<TableId, TableSpec> specs, SnapshotStart start) throws SQLException, InterruptedException {
        SnapshotProgress progress = start.progress();
        org.slf4j.MDC.put("phase", Phase.SNAPSHOT.label());
        if (ops != null) {
            ops.phase("snapshot");
            ops.snapshot(progress::rows, progress.estimates());
        }
        CopySnapshot copy = new CopySnapshot(config.source(), config.shadow(), config.slot(), config.slotCreation(), checkpoints,
                List.copyOf(specs.values()),
                throttle, progress, config.snapshot(), chain);
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

    private PipelineRun newRun(Map<TableId, TableSpec> specs, Map<TableId, TableSpec> shadowSpecs, SnapshotProgress progress) {
        return new PipelineRun(config, specs, shadowSpecs, checkpoints, progress, chain, throttle, ops);
    }
}
