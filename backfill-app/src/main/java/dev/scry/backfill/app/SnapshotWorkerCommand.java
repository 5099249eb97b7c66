package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.snapshot.SnapshotSettings;
import dev.scry.backfill.snapshot.SnapshotWorker;
import dev.scry.backfill.source.SourcePreflight;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * {@code snapshot-worker}: reads the tables and transforms as the coordinating {@code snapshot}
 * does (from the same configuration), then copies parts of its snapshot (see {@link SnapshotWorker}).
 */
final class SnapshotWorkerCommand {

    private final BackfillConfig config;
    private final PrintWriter out;

    SnapshotWorkerCommand(BackfillConfig config, PrintWriter out) {
        this.config = config;
        this.out = out;
    }

    int run(long waitSeconds) throws SQLException, InterruptedException {
        if (config.snapshot().method() != SnapshotSettings.Method.COPY) {
            throw new SetupException("snapshot.method is debezium: Debezium's snapshot runs inside one process and has no parts"
                    + " for workers; set snapshot.method: copy to share the snapshot with snapshot workers");
        }
        BackfillConfig resolved;
        Map<TableId, TableSpec> specs;
        TransformChain chain;
        try (Connection source = ConnectionFactory.open(config.source(), "source")) {
            resolved = ResolvedTables.of(config, source);
            specs = new SourcePreflight(source, resolved.source().describe(), false)
                    .check(resolved.tables(), TransformChain.dropsColumn(resolved.transforms()));
            try {
                chain = TransformChain.create(resolved.transforms(), List.copyOf(specs.values()));
            }
            catch (IllegalArgumentException e) {
                throw new SetupException(e.getMessage(), e);
            }
        }
        SnapshotWorker worker = new SnapshotWorker(resolved.source(), resolved.shadow(), new CheckpointStore(resolved.pipeline()),
                List.copyOf(specs.values()), new Throttle(resolved.rateLimit()), resolved.snapshot(), chain);
        Signals.onTermination(worker::requestStop);
        SnapshotWorker.Result result = worker.run(Math.max(0, waitSeconds) * 1000);
        out.printf("snapshot worker %s of pipeline %s copied %d part(s), %d row(s); %s%n", result.holder(), resolved.pipeline(),
                result.parts(), result.rows(), result.ending());
        return Main.OK;
    }
}
