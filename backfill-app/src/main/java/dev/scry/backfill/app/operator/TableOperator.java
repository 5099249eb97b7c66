package dev.scry.backfill.app.operator;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.Connect;
import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.TableRequests;
import dev.scry.backfill.checkpoint.TableStates;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.HeldChanges;
import dev.scry.backfill.sink.ShadowSink;
import dev.scry.backfill.source.Watermarks;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * In a daemon whose reader carries watermarks ({@code ChangeSources.Choice#carriesWatermarks}):
 * carries out the table requests commands write on the shadow ({@link TableRequests}), one at a time, oldest first, and writes their
 * progress and outcome there (see {@link TableActions} for what each does). A request it was
 * working on when the daemon stopped is taken up again when the daemon starts: a copy goes on
 * from the cursor its last committed chunk recorded.
 */
public final class TableOperator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TableOperator.class);
    private static final long POLL_MILLIS = 300;

    private final BackfillConfig config;
    private final TableActions actions;
    private final TableRequests requests;
    private final Runnable stopPipeline;
    private final boolean stopWhenIdle;
    private final Thread thread;
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private volatile boolean closed;
    // The tables the configuration named when last read, for SIGHUP's changes: first the configuration
    // the run started with (not the file read again later, which may already hold the change a
    // SIGHUP then announces), patterns resolved once the operator runs.
    private List<TableId> configured;

    /**
     * @param live         the tracked tables; tables joining are added to it
     * @param stopPipeline ends the run (a run started to serve requests ends when none is left)
     * @param stopWhenIdle whether to end the run once no request is open (a command ran the pipeline for its request)
     */
    public TableOperator(BackfillConfig config, Map<TableId, TableSpec> live, ShadowSink sink, TransformChain chain, Watermarks watermarks,
                         Throttle throttle, Runnable stopPipeline, boolean stopWhenIdle) {
        this.config = config;
        this.actions = new TableActions(config, live, sink, chain, watermarks, throttle, () -> closed);
        this.requests = new TableRequests(config.pipeline());
        this.stopPipeline = stopPipeline;
        this.stopWhenIdle = stopWhenIdle;
        this.thread = new Thread(this::loop, "table-operator");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Why the operator stopped the pipeline, if it did (never for a request that merely failed). */
    public RuntimeException failure() {
        return failure.get();
    }

    private void loop() {
        synchronized (this) {
            try {
                if (configured == null) {
                    configured = tablesOf(config);
                }
            }
            catch (SQLException | RuntimeException e) {
                LOG.debug("reading the configured tables: {}", e.toString());
            }
        }
        while (!closed) {
            try {
                Optional<TableRequests.Request> next;
                try (Connection shadow = Connect.open(config.shadow(), "shadow", "scry-backfill " + config.pipeline() + " requests")) {
                    next = requests.next(shadow);
                }
                if (next.isEmpty()) {
                    if (stopWhenIdle) {
                        stopPipeline.run();
                        return;
                    }
                    Thread.sleep(POLL_MILLIS);
                    continue;
                }
                serve(next.get());
            }
            catch (InterruptedException e) {
                return;
            }
            catch (RuntimeException | SQLException e) {
                if (closed) {
                    return;
                }
                LOG.warn("serving table requests failed ({}); trying again", e.toString());
                try {
                    Thread.sleep(2000);
                }
                catch (InterruptedException stop) {
                    return;
                }
            }
        }
    }

    /** Works on one request and writes its outcome; a request left open when the daemon stops is taken up by its next run. */
    private void serve(TableRequests.Request request) throws SQLException, InterruptedException {
        LOG.info("table request {}: {} {}", request.id(), request.action().label(), request.table());
        report(request.id(), TableRequests.State.RUNNING, null, "started");
        TableRequests.State state;
        String message;
        try {
            message = actions.perform(request, progress -> report(request.id(), TableRequests.State.RUNNING, null, progress));
            state = TableRequests.State.DONE;
        }
        catch (SetupException e) {
            state = TableRequests.State.REFUSED;
            message = e.getMessage();
        }
        catch (TableActions.Stopped e) {
            LOG.info("table request {} left for the next run: {}", request.id(), e.getMessage());
            return;
        }
        catch (PipelineFailure | SQLException | IllegalArgumentException e) {
            if (closed) {
                return;
            }
            state = TableRequests.State.FAILED;
            message = (e instanceof SQLException sql ? SqlErrors.describe(sql) : e.getMessage())
                    + (request.action() == TableRequests.Action.ADD || request.action() == TableRequests.Action.RESNAPSHOT
                    ? "; `table " + request.action().label() + " " + request.table() + "` again continues the copy from its last chunk" : "");
        }
        LOG.info("table request {} ({} {}): {}: {}", request.id(), request.action().label(), request.table(),
                state.name().toLowerCase(java.util.Locale.ROOT), message);
        report(request.id(), state, message, null);
    }

    private void report(long id, TableRequests.State state, String message, String progress) {
        try (Connection shadow = Connect.open(config.shadow(), "shadow", "scry-backfill " + config.pipeline() + " requests")) {
            if (state.finished()) {
                requests.finish(shadow, id, state, message);
            }
            else {
                requests.running(shadow, id, progress);
            }
        }
        catch (SQLException | RuntimeException e) {
            LOG.warn("cannot record the state of table request {}: {}", id, e.toString());
        }
    }

    /**
     * SIGHUP: tables that {@code tables} in the file now names and did not, or no longer names,
     * become add and remove requests (a file that no longer loads changes nothing). Tables a
     * pattern matches later are the table watcher's.
     */
    public synchronized void reload() {
        List<TableId> before = configured;
        List<TableId> after;
        try {
            if (before == null) {
                before = tablesOf(config);
            }
            after = tablesOf(new dev.scry.backfill.app.config.ConfigLoader().load(java.nio.file.Path.of(config.file())));
        }
        catch (SQLException | RuntimeException e) {
            LOG.warn("tables unchanged: {}", e.getMessage());
            return;
        }
        configured = after;
        try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
            dev.scry.backfill.checkpoint.MetadataSchema.ensure(shadow);
            for (TableId t : after) {
                if (!before.contains(t)) {
                    long id = requests.submit(shadow, TableRequests.Action.ADD, t, null);
                    LOG.info("configuration reloaded: {} is in `tables` now; request {} adds it", t, id);
                }
            }
            for (TableId t : before) {
                if (!after.contains(t)) {
                    long id = requests.submit(shadow, TableRequests.Action.REMOVE, t, null);
                    LOG.info("configuration reloaded: {} left `tables`; request {} removes it", t, id);
                }
            }
        }
        catch (SQLException | RuntimeException e) {
            LOG.warn("tables unchanged: {}", e.toString());
        }
    }

    /** The tables a configuration names, patterns resolved against the source now. */
    private List<TableId> tablesOf(BackfillConfig file) throws SQLException {
        if (!file.hasPatterns()) {
            return file.tables();
        }
        try (Connection source = Connect.open(config.source(), "source")) {
            return new dev.scry.backfill.source.SourceCatalog(source).resolve(file.selectors());
        }
    }

    /** What is held for a table now (for messages). */
    static HeldChanges.Held held(Connection shadow, String pipeline, TableId table) throws SQLException {
        return new HeldChanges(pipeline).summary(shadow).getOrDefault(table, new HeldChanges.Held(0, 0));
    }

    static Optional<TableStates.Entry> state(Connection shadow, String pipeline, TableId table) throws SQLException {
        return Optional.ofNullable(new TableStates(pipeline).read(shadow).get(table));
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
