package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.sink.ReplicaRole;
import dev.scry.backfill.sink.schema.ColumnShaping;
import dev.scry.backfill.sink.schema.SchemaScope;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowSchema;
import dev.scry.backfill.snapshot.TableAdder;
import dev.scry.backfill.source.ChangeSources;
import dev.scry.backfill.source.SourceCatalog;
import dev.scry.backfill.source.SourcePreflight;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * {@code table resnapshot <table>}: copies one table of a stopped pipeline again, consistently, so
 * that streaming continues after a change of that table the stream could not apply (see
 * {@link TableAdder#recopy}): `resume` then skips the table's changes made before the copy and
 * applies everything else. Runs only while no other instance of the pipeline does (its lock).
 */
final class TableResnapshot {

    private BackfillConfig config;
    private final PrintWriter out;

    TableResnapshot(BackfillConfig config, PrintWriter out) {
        this.config = config;
        this.out = out;
    }

    int run(String tableName) throws SQLException, InterruptedException {
        TableId table;
        try {
            table = TableId.parse(tableName);
        }
        catch (IllegalArgumentException e) {
            throw new SetupException("table resnapshot: " + e.getMessage(), e);
        }
        CheckpointStore checkpoints = new CheckpointStore(config.pipeline());
        try (InstanceLock lock = lock();
             Connection source = ConnectionFactory.open(config.source(), "source"); Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            config = TableMembership.of(ResolvedTables.of(config, source), shadow);
            if (!config.tables().contains(table)) {
                throw new SetupException("table " + table + " is not one of pipeline " + config.pipeline() + "'s tables "
                        + config.tables() + "; name it as `tables` resolves it (schema-qualified)");
            }
            checkStreaming(checkpoints.read(shadow));
            Map<TableId, TableSpec> specs = new SourcePreflight(source, config.source().describe())
                    .check(config.tables(), TransformChain.dropsColumn(config.transforms()));
            TransformChain chain;
            try {
                chain = TransformChain.create(config.transforms(), List.copyOf(specs.values()));
            }
            catch (IllegalArgumentException e) {
                throw new SetupException(e.getMessage(), e);
            }
            TableSpec spec = specs.get(table);
            long oid = new SourceCatalog(source).relation(table).orElseThrow().oid();
            dev.scry.backfill.sink.ShadowTypes.check(source, shadow, Map.of(oid, chain.columnsKeepingType(spec)));
            ShadowSchema.check(shadow, List.of(chain.shape(spec)), false);
            // The copy's writes, like the stream's, must not set off the shadow table's triggers and foreign keys.
            boolean quietNeeded = new SchemaSync(new SchemaScope(List.of(table), List.of(), ColumnShaping.NONE, config.schema()))
                    .read(shadow).hasTriggersOrForeignKeys();
            ConnectionSettings shadowSessions = ReplicaRole.apply(config.shadow(), shadow, quietNeeded);
            TableAdder adder = new TableAdder(config.source(), shadowSessions, config.publication(), checkpoints,
                    new Throttle(config.rateLimit()), chain, config.schema());
            long rows = TableAdder.whenLocked(table, () -> adder.recopy(spec));
            out.printf("copied table %s of pipeline %s again: %d rows; its changes made before the copy will be skipped."
                    + " Run `resume` to continue streaming%n", table, config.pipeline(), rows);
            return 0;
        }
    }

    private InstanceLock lock() throws SQLException, InterruptedException {
        try {
            return InstanceLock.acquire(config.shadow(), config.pipeline(), false, () -> { });
        }
        catch (SetupException e) {
            throw new SetupException("table resnapshot needs the pipeline stopped: " + e.getMessage(), e);
        }
    }

    /** A table is copied again into a pipeline whose reader can skip its earlier changes (see SnapshotOverlap). */
    private void checkStreaming(Optional<Checkpoint> checkpoint) {
        if (checkpoint.isEmpty()) {
            throw new SetupException("pipeline " + config.pipeline() + " has no checkpoint on the shadow " + config.shadow().describe()
                    + "; start it with `snapshot`, which copies every table");
        }
        if (checkpoint.get().phase() != Phase.STREAMING || checkpoint.get().offset().isEmpty()) {
            throw new SetupException("the snapshot of pipeline " + config.pipeline() + " is not complete; run `resume`, which"
                    + " completes it, copying what is missing");
        }
        Optional<String> why = ChangeSources.choose(config.streamSettings(), checkpoint.get().offset()).whyNoTableOperations();
        if (why.isPresent()) {
            // Only the pgoutput reader skips a table's changes older than its copy (see SnapshotOverlap).
            throw new SetupException("table resnapshot: pipeline " + config.pipeline() + " streams with " + why.get());
        }
    }
}
