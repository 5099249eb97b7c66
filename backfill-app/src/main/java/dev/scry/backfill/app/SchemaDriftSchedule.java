package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.ops.Operations;
import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.SchemaRecords;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.sink.SchemaEpoch;
import dev.scry.backfill.sink.schema.SchemaDrift;
import dev.scry.backfill.sink.schema.SchemaModel;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.source.SourceAdmin;

/**
 * The drift check: compares the source's and the shadow's schema of the configured tables when
 * {@code cdc} starts and every {@code schema.check-interval-ms}, on a thread of its own. Without
 * DDL capture it also makes the shadow the source's where that touches no row (see
 * {@link SchemaDrift}), once the shadow's checkpoint has passed the source's WAL position read
 * right after its catalog (so that no row written under the older schema is still on its way);
 * with capture on it only reports, the changes travelling with the rows. What is left goes to
 * {@code status} (scry_backfill.schema_drift), the metric {@code backfill_schema_differences} and
 * the log.
 */
final class SchemaDriftSchedule implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SchemaDriftSchedule.class);
    private static final long CATCH_UP_WAIT_MS = 30_000;

    private final BackfillConfig config;
    private final SchemaSync sync;
    private final Operations ops;
    private final Periodic rounds;
    // Every object the source was seen to have (at start, and at each check): one the shadow has
    // and the source no longer does was dropped on the source; one it never had is the shadow's own.
    private final java.util.Set<String> seenOnSource = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private SchemaDriftSchedule(BackfillConfig config, SchemaSync sync, Operations ops, SchemaModel atStart) {
        this.config = config;
        this.sync = sync;
        this.ops = ops;
        if (atStart != null) {
            atStart.objects().forEach(o -> seenOnSource.add(o.key()));
        }
        // The thread's first round at once: the one at start applied only partitions.
        this.rounds = new Periodic("schema-drift", "the schema drift check", config.schema().checkIntervalMs(), true, () -> checkOnce(true));
    }

    /**
     * @param atStart  the source's schema as the run read it before streaming, or null
     * @param justRead whether {@code atStart} was read moments ago (no snapshot, no table copied
     *                 since): the check at start then compares with it rather than reading the
     *                 source's catalog a second time. A partition made on the source since is met
     *                 by the thread's first round, which starts at once, as one made just after a
     *                 fresh reading would be.
     */
    static SchemaDriftSchedule start(BackfillConfig config, SchemaSync sync, Operations ops, SchemaModel atStart, boolean justRead) {
        SchemaDriftSchedule schedule = new SchemaDriftSchedule(config, sync, ops, atStart);
        if (sync != null) {
            // Before streaming: partitions the shadow lacks (rows for them may be next in the
            // stream); the rest waits for the thread's first round, once the rows caught up.
            try {
                if (justRead && atStart != null) {
                    schedule.check(atStart, () -> false);
                }
                else {
                    schedule.checkOnce(false);
                }
            }
            catch (SQLException | RuntimeException e) {
                LOG.warn("the schema drift check at start failed ({}); the next one tries again", e instanceof SQLException s
                        ? SqlErrors.describe(s) : e.toString());
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            schedule.rounds.start();
        }
        return schedule;
    }

    /**
     * One check: compare, apply what can be (capture off; with {@code waitForRows} false only
     * new partitions), record and report what is left.
     */
    void checkOnce(boolean waitForRows) throws SQLException, InterruptedException {
        try (Connection source = ConnectionFactory.open(config.source(), "source")) {
            giveWayToDdl(source);
            check(sync.read(source), () -> waitForRows && caughtUp(source));
        }
    }

    /** A check against {@code sourceSchema}, the source's as read; {@code gate} as {@link SchemaDrift#reconcile} has it. */
    private void check(SchemaModel sourceSchema, SchemaDrift.Gate gate) throws SQLException {
        boolean apply = !config.schema().captureDdl();
        try (Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            SchemaDrift.Outcome outcome;
            if (apply) {
                outcome = SchemaDrift.reconcile(sync, sourceSchema, shadow, gate, seenOnSource::contains);
            }
            else {
                outcome = SchemaDrift.Outcome.compared(sourceSchema, sync.read(shadow), config.schema());
            }
            outcome.sourceKeys().forEach(seenOnSource::add);
            if (!outcome.applied().isEmpty()) {
                SchemaEpoch.bump();
                LOG.info("drift check: made {} schema object(s) on the shadow the source's: {}", outcome.applied().size(),
                        String.join(", ", outcome.applied()));
            }
            outcome.failed().forEach((key, why) -> LOG.warn("drift check: could not make {} the source's on the shadow: {}", key, why));
            SchemaDrift.Report left = outcome.left();
            if (!left.equal()) {
                LOG.warn("drift check: {} schema object(s) differ between source and shadow: {}{}", left.differences().size(),
                        describe(left), apply ? "" : " (schema.capture-ddl is on: they may be changes on their way)");
            }
            new SchemaRecords(config.pipeline()).writeDrift(shadow, left.differences().size(), outcome.applied().size(), describe(left));
            if (ops != null) {
                ops.schemaDifferences(left.differences().size());
            }
        }
    }

    /**
     * The catalog functions the check calls (pg_get_indexdef, pg_get_constraintdef...) lock the
     * relations they describe one after another; a DDL statement on the source locking the same
     * ones in another order makes a deadlock, and the server may choose the user's DDL as its
     * victim (seen: DETACH PARTITION failing against the index read). A lock_timeout well under
     * deadlock_timeout (1 s by default) makes the check give way first; the next round tries again.
     */
    private static void giveWayToDdl(Connection source) throws SQLException {
        try (java.sql.Statement st = source.createStatement()) {
            st.execute("SET lock_timeout = '200ms'");
        }
    }

    static String describe(SchemaDrift.Report report) {
        return String.join("; ", report.differences().stream().map(SchemaDrift.Difference::describe).toList());
    }

    /** Whether the shadow's checkpoint passes where the source is now, within a bounded wait. */
    private boolean caughtUp(Connection source) throws SQLException {
        Lsn now = new SourceAdmin(source).currentWalLsn();
        if (!source.getAutoCommit()) {
            source.rollback();
        }
        CheckpointStore checkpoints = new CheckpointStore(config.pipeline());
        long until = System.currentTimeMillis() + CATCH_UP_WAIT_MS;
        try (Connection reader = ConnectionFactory.open(config.shadow(), "shadow")) {
            while (!rounds.closed()) {
                Optional<Checkpoint> cp = checkpoints.read(reader);
                if (!reader.getAutoCommit()) {
                    reader.rollback();
                }
                if (cp.isPresent() && !now.isAfter(cp.get().lsn())) {
                    return true;
                }
                if (System.currentTimeMillis() > until) {
                    LOG.info("drift check: the shadow has not caught up with the source's position {} yet; applying next time", now);
                    return false;
                }
                try {
                    Thread.sleep(200);
                }
                catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return false;
    }

    @Override
    public void close() {
        rounds.close();
    }
}
