package dev.scry.backfill.sink;

import dev.scry.backfill.error.RetryPolicy;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.DeadLetters;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * The shadow sink: applies each batch and writes its checkpoint in one shadow transaction, so the
 * shadow and its recorded position can never disagree. Transient faults (connection lost, server
 * restarting) roll back and retry the whole batch with backoff; anything else stops the pipeline
 * with the checkpoint still before the batch.
 */
public final class ShadowSink implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowSink.class);
    private static final String CARDINALITY_VIOLATION = "21000";

    private final SinkSettings settings;
    private final CheckpointStore checkpoints;
    private final DeadLetters deadLetters;
    private final ShadowWriter writer;
    private final TableControls controls;
    private final HikariDataSource pool;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** What the sink reports as it works (metrics); every method has a no-op default. */
    public interface Listener {
        default void retried() {
        }

        default void deadLettered(TableId table) {
        }

        default void applied(long nanos) {
        }

        Listener NONE = new Listener() {
        };
    }

    private final Listener listener;

    /**
     * @param tables the shadow tables as they are now (see {@link ShadowSchema#current})
     * @param source the source's catalog, read when a schema change reaches the stream
     */
    public ShadowSink(SinkSettings settings, Map<TableId, TableSpec> tables, SourceSchema source) {
        this(settings, tables, source, Listener.NONE, null);
    }

    /**
     * @param listener told about retries, dead letters and apply times
     * @param poolMetrics HikariCP's metrics for the sink's pool, or null
     */
    public ShadowSink(SinkSettings settings, Map<TableId, TableSpec> tables, SourceSchema source, Listener listener,
                      com.zaxxer.hikari.metrics.MetricsTrackerFactory poolMetrics) {
        this.settings = settings;
        this.checkpoints = new CheckpointStore(settings.pipeline());
        this.deadLetters = new DeadLetters(settings.pipeline());
        this.writer = new PgShadowWriter(settings.pipeline(), tables, source,
                new dev.scry.backfill.sink.ddl.CapturedDdl(settings.pipeline(), settings.wholeSchema(), settings.captureKey()));
        this.controls = new TableControls(settings.pipeline());
        HikariConfig config = new HikariConfig();
        config.setPoolName("shadow-sink");
        config.setJdbcUrl(settings.shadow().jdbcUrl());
        config.setDataSourceProperties(settings.shadow().jdbcProperties("scry-backfill sink " + settings.pipeline()));
        config.setMaximumPoolSize(2);
        config.setMinimumIdle(1);
        config.setAutoCommit(false);
        config.setConnectionTimeout(10_000);
        // Start even if the shadow is down right now; getConnection failures are retried per batch.
        config.setInitializationFailTimeout(-1);
        if (poolMetrics != null) {
            config.setMetricsTrackerFactory(poolMetrics);
        }
        this.listener = listener;
        this.pool = new HikariDataSource(config);
    }

    /**
     * Applies the batch and its checkpoint in one transaction; returns what it applied per table.
     * Blocks while retrying transient faults.
     */
    public Map<TableId, TableCounts> apply(ChangeBatch batch) throws InterruptedException {
        long started = System.nanoTime();
        RetryPolicy.Attempts attempts = settings.retry().start();
        boolean rowAtATime = false;
        boolean tolerant = false;
        boolean commitOutcomeUnknown = false;
        while (true) {
            try (Connection c = pool.getConnection()) {
                if (commitOutcomeUnknown && alreadyCommitted(c, batch)) {
                    LOG.info("the previous commit of this batch did reach the shadow; not applying it twice");
                    writer.committed();
                    controls.committed();
                    listener.applied(System.nanoTime() - started);
                    return Map.of();
                }
                Map<TableId, TableCounts> counts;
                try {
                    // A paused table's changes are held back; the batch's controls follow its changes.
                    ChangeBatch changes = controls.holdPaused(c, batch);
                    boolean oneRowRuns = rowAtATime;
                    counts = tolerant
                            ? writer.applyEach(c, changes, (change, error) -> {
                                deadLetters.add(c, change.table(), change.op().name(), batch.end().lsn(), DeadLetterCodec.encode(change), error);
                                listener.deadLettered(change.table());
                                LOG.warn("the shadow rejected a change to {} ({}): {}; stored as a dead letter (errors.tolerance: all),"
                                        + " the pipeline goes on", change.table(), change.op(), error);
                            })
                            // Controls run statements of their own after the changes: those go first then.
                            : batch.controls().isEmpty() ? writer.applyBeforeCheckpoint(c, changes, rowAtATime)
                            : writer.apply(c, changes, rowAtATime);
                    counts = controls.apply(c, batch, counts, held -> writer.applyMore(c, held, oneRowRuns));
                    writer.checkpoint(c, settings.slot(), batch.end(), counts);
                }
                catch (dev.scry.backfill.sink.ddl.SchemaChangeStopped e) {
                    rollbackQuietly(c);
                    commitBefore(c, batch, e, rowAtATime);
                    throw e;
                }
                catch (SQLException | RuntimeException e) {
                    rollbackQuietly(c);
                    throw e;
                }
                try {
                    c.commit();
                }
                catch (SQLException e) {
                    commitOutcomeUnknown = true;
                    throw e;
                }
                writer.committed();
                controls.committed();
                listener.applied(System.nanoTime() - started);
                if (attempts.failures() > 0) {
                    LOG.info("shadow write succeeded after {} failed attempt(s)", attempts.failures());
                }
                return counts;
            }
            catch (SQLException e) {
                if (CARDINALITY_VIOLATION.equals(e.getSQLState()) && !rowAtATime) {
                    rowAtATime = true;
                    continue;
                }
                if (!SqlErrors.isTransient(e) && settings.tolerateErrors() && !tolerant) {
                    tolerant = true;
                    continue;
                }
                if (!SqlErrors.isTransient(e)) {
                    throw new PipelineFailure("the shadow rejected a batch: " + SqlErrors.describe(e)
                            + ". Nothing of it was applied and the checkpoint is still before it; fix the cause and run `resume`", e);
                }
                long delay = attempts.nextDelayMillis();
                if (delay < 0) {
                    throw new PipelineFailure("the shadow " + settings.shadow().describe() + " kept failing for "
                            + settings.retry().giveUpAfter().toSeconds() + " s (" + SqlErrors.describe(e)
                            + "); stopping with the checkpoint before the failed batch. Run `resume` once the shadow is back", e);
                }
                LOG.warn("shadow write failed ({}); retrying in {} ms (attempt {})", SqlErrors.describe(e), delay, attempts.failures() + 1);
                listener.retried();
                Thread.sleep(delay);
            }
        }
    }

    /**
     * Works out what it can of the batch's writes ahead of {@link #apply} of the same batch, on the
     * thread that hands batches over (see {@link ShadowWriter#prepare}).
     */
    public void prepare(ChangeBatch batch) {
        writer.prepare(batch);
    }

    /**
     * A schema change the shadow cannot apply: the batch's changes before it are committed with a
     * checkpoint right before it (inside its source transaction, as a split transaction's part
     * is), so that the operator's hand-made change meets exactly the rows written before it on the
     * source; and the change is recorded, so that `resume` takes it as applied. A batch that
     * carries table controls is left whole (the checkpoint stays before it).
     */
    private void commitBefore(Connection c, ChangeBatch batch, dev.scry.backfill.sink.ddl.SchemaChangeStopped e, boolean rowAtATime)
            throws SQLException {
        dev.scry.backfill.checkpoint.SchemaRecords records = new dev.scry.backfill.checkpoint.SchemaRecords(settings.pipeline());
        java.util.List<dev.scry.backfill.model.ChangeEvent> events = batch.events();
        int at = -1;
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).op() == dev.scry.backfill.model.Op.SCHEMA && events.get(i).schema().lsn().toString().equals(e.lsn())) {
                at = i;
                break;
            }
        }
        dev.scry.backfill.model.SourcePosition before = at < 0 ? null : events.get(at).schema().before();
        if (before == null || !batch.controls().isEmpty()) {
            records.recordStop(c, e.lsn(), e.statement(), e.error());
            return;
        }
        try {
            ChangeBatch prefix = controls.holdPaused(c, new ChangeBatch(events.subList(0, at), before, 0, true, java.util.List.of()));
            Map<TableId, TableCounts> counts = writer.apply(c, prefix, rowAtATime);
            writer.checkpoint(c, settings.slot(), before, counts);
            records.recordStop(c, e.lsn(), e.statement(), e.error());
            writer.committed();
            controls.committed();
        }
        catch (SQLException | RuntimeException failed) {
            rollbackQuietly(c);
            LOG.warn("could not keep the changes before the schema change ({}); the checkpoint stays before their batch", failed.toString());
            records.recordStop(c, e.lsn(), e.statement(), e.error());
        }
    }

    /** Starts writing to a table that joined the pipeline while it runs (its shadow table is in place). */
    public void join(TableSpec spec) {
        writer.join(spec);
    }

    private boolean alreadyCommitted(Connection c, ChangeBatch batch) throws SQLException {
        Optional<Checkpoint> cp = checkpoints.read(c);
        c.rollback();
        return cp.isPresent() && cp.get().offset().isPresent()
                && Objects.equals(normalize(cp.get().offset().get()), normalize(batch.end().offset()));
    }

    /** Offsets compared as JSON text: the stored copy has been through jsonb and back. */
    private static Object normalize(Map<String, Object> offset) {
        return new java.util.TreeMap<>(offset).toString();
    }

    private static void rollbackQuietly(Connection c) {
        try {
            c.rollback();
        }
        catch (SQLException e) {
            LOG.debug("rollback failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            pool.close();
        }
    }
}
