package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.SnapshotClaims;
import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * {@code snapshot-worker}: copies parts of a running copy snapshot from another process, on any
 * machine that reaches both servers. The coordinating {@code snapshot} keeps the exported
 * snapshot alive (it dies with the connection that created the slot) and publishes its name in
 * the journal; a worker imports it ({@code SET TRANSACTION SNAPSHOT}), so that its rows are at
 * exactly the position the coordinator's are, claims parts as the coordinator does
 * ({@link PartClaims}), and commits each part's rows with its completion, fenced by the claim.
 * It builds no post-data and writes no checkpoint: the coordinator does (or, if it died, the
 * continuation, `resume`).
 *
 * <p>A worker ends when no part is left to copy, or when the snapshot it imported is no longer
 * published (the snapshot completed, or was stopped or restarted) and it cannot import another.
 */
public final class SnapshotWorker {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotWorker.class);

    /** What a worker did. */
    public record Result(String holder, int parts, long rows, String ending) {
    }

    private final ConnectionSettings source;
    private final ConnectionSettings shadow;
    private final CheckpointStore checkpoints;
    private final SnapshotJournal journal;
    private final SnapshotClaims shared;
    private final Map<TableId, TableSpec> tables = new LinkedHashMap<>();
    private final Throttle throttle;
    private final TransformChain chain;
    private final int parallelism;
    private final AtomicBoolean stop = new AtomicBoolean();

    public SnapshotWorker(ConnectionSettings source, ConnectionSettings shadow, CheckpointStore checkpoints, List<TableSpec> tables,
                          Throttle throttle, SnapshotSettings settings, TransformChain chain) {
        this.source = source;
        this.shadow = shadow;
        this.checkpoints = checkpoints;
        this.journal = new SnapshotJournal(checkpoints.pipeline());
        this.shared = new SnapshotClaims(checkpoints.pipeline());
        tables.forEach(t -> this.tables.put(t.id(), t));
        this.throttle = throttle;
        this.chain = chain;
        this.parallelism = Math.max(1, settings.parallelism());
    }

    /** Asks the worker to stop between rows: the parts in hand are rolled back and their claims given up. */
    public void requestStop() {
        stop.set(true);
    }

    /**
     * Checks that a snapshot runs (waiting up to {@code waitMillis} for one to be published) and
     * that this worker copies the same tables, then copies parts until none is left.
     *
     * @throws SetupException when no snapshot runs, its export cannot be imported, or the tables differ
     */
    public Result run(long waitMillis) throws SQLException, InterruptedException {
        SnapshotClaims.Export export = awaitExport(waitMillis);
        if (export == null) {
            return new Result(PartClaims.holderName("snapshot-worker"), 0, 0,
                    "the snapshot of pipeline " + checkpoints.pipeline() + " already completed; nothing to copy");
        }
        checkSameTables();
        try (PartClaims claims = new PartClaims(shared, shadow, "snapshot-worker", export.claimTimeoutMillis())) {
            LOG.info("{} copies parts of pipeline {} under the snapshot {} exported by {} at {} ({} thread(s), claims of {} ms)",
                    claims.holder(), checkpoints.pipeline(), export.snapshotName(), export.coordinator(), export.at(), parallelism,
                    export.claimTimeoutMillis());
            PartCopier copier = new PartCopier(checkpoints.pipeline(), chain, throttle, claims,
                    new SnapshotProgress(List.copyOf(tables.keySet())));
            ExecutorService pool = Executors.newFixedThreadPool(parallelism, r -> {
                Thread t = new Thread(r, "snapshot-worker");
                t.setDaemon(true);
                return t;
            });
            List<String> endings = new ArrayList<>();
            try {
                List<Future<String>> futures = new ArrayList<>();
                for (int i = 0; i < parallelism; i++) {
                    futures.add(pool.submit(() -> work(claims, copier)));
                }
                for (Future<String> f : futures) {
                    try {
                        endings.add(f.get());
                    }
                    catch (ExecutionException e) {
                        stop.set(true);
                        Throwable cause = e.getCause();
                        if (cause instanceof SQLException s) {
                            throw s;
                        }
                        if (cause instanceof RuntimeException r) {
                            throw r;
                        }
                        throw new PipelineFailure("snapshot worker failed: " + cause, cause);
                    }
                }
            }
            finally {
                pool.shutdownNow();
            }
            SnapshotClaims.Tally tally;
            try (Connection c = open(shadow, "shadow")) {
                tally = shared.copiedBy(c, claims.holder());
            }
            return new Result(claims.holder(), tally.parts(), tally.rows(), endings.isEmpty() ? "stopped" : endings.get(0));
        }
    }

    /**
     * One thread: claims a part, copies and commits it; between parts waits for a change in the
     * journal (LISTEN: a part copied or given up, the export withdrawn) or, at the latest, for a
     * claim held elsewhere to be able to expire. Returns why it ended.
     */
    private String work(PartClaims claims, PartCopier copier) throws SQLException, InterruptedException {
        Connection src = null;
        SnapshotClaims.Export imported = null;
        try (Connection dst = open(shadow, "shadow")) {
            try (Statement st = dst.createStatement()) {
                st.execute("LISTEN " + Identifiers.quote(SnapshotClaims.CHANNEL));
            }
            dst.setAutoCommit(false);
            while (!stop.get()) {
                Optional<SnapshotClaims.Export> export = shared.export(dst);
                dst.commit();
                if (export.isEmpty()) {
                    return "the snapshot is no longer published (completed, stopped or restarted)";
                }
                if (imported == null || !imported.snapshotName().equals(export.get().snapshotName())) {
                    // A continuation publishes a new export: parts are only claimed under the current one.
                    close(src);
                    src = null;
                    try {
                        src = openUnder(export.get().snapshotName());
                    }
                    catch (SQLException e) {
                        if (snapshotGone(e)) {
                            return "the exported snapshot is gone (its process stopped); `resume` continues the snapshot";
                        }
                        throw e;
                    }
                    imported = export.get();
                }
                Optional<SnapshotClaims.Claim> claim = claims.claim(dst, imported.snapshotName());
                if (claim.isPresent()) {
                    SnapshotJournal.Part p = claim.get().part();
                    TableCopy.Part part = new TableCopy.Part(p.id(), tables.get(p.table()), p.kind(), p.from(), p.to());
                    PartCopier.Outcome outcome = copier.copy(src, dst, part, claim.get(), imported.at(), stop::get);
                    if (outcome == PartCopier.Outcome.STOPPED) {
                        return "stopped";
                    }
                    if (outcome == PartCopier.Outcome.LOST) {
                        // A COPY cancelled part-way aborts the source transaction: import again.
                        close(src);
                        src = null;
                        imported = null;
                    }
                    continue;
                }
                int left = shared.uncopiedParts(dst);
                dst.commit();
                if (left == 0) {
                    return "no part is left to copy";
                }
                dst.unwrap(PGConnection.class).getNotifications(Math.max(100, Math.min(1_000, imported.claimTimeoutMillis() / 3)));
            }
            return "stopped";
        }
        finally {
            close(src);
        }
    }

    /**
     * The published export, once it can be imported, waiting up to {@code waitMillis} for one (a
     * `snapshot` starting, a `resume` about to continue one); null when the snapshot already
     * completed; refuses when none comes.
     */
    private SnapshotClaims.Export awaitExport(long waitMillis) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + waitMillis * 1_000_000;
        try (Connection c = open(shadow, "shadow")) {
            try (Statement st = c.createStatement()) {
                // The coordinator's publish notifies: a waiting worker starts at once, not at its next look.
                st.execute("LISTEN " + Identifiers.quote(SnapshotClaims.CHANNEL));
            }
            while (true) {
                Optional<SnapshotClaims.Export> export = shared.export(c);
                String problem;
                if (export.isPresent()) {
                    try (Connection probe = openUnder(export.get().snapshotName())) {
                        probe.rollback();
                        return export.get();
                    }
                    catch (SQLException e) {
                        if (!snapshotGone(e)) {
                            throw e;
                        }
                        problem = "the snapshot of pipeline " + checkpoints.pipeline() + " published by " + export.get().coordinator()
                                + " is no longer exported: that process has stopped; run `resume` to continue the snapshot (workers"
                                + " can join it), then the workers (or give them --wait-s)";
                    }
                }
                else if (checkpoints.read(c).map(cp -> cp.phase() == dev.scry.backfill.model.Phase.STREAMING && cp.snapshotCompleted())
                        .orElse(false)) {
                    // A worker started again (a Job recreated) after the snapshot: nothing to do is no failure.
                    return null;
                }
                else {
                    problem = "no snapshot of pipeline " + checkpoints.pipeline() + " is running on the shadow " + shadow.describe()
                            + "; start `snapshot` (or `resume` to continue an interrupted one) with the same configuration, then the"
                            + " workers (or give them --wait-s)";
                }
                if (System.nanoTime() >= deadline || stop.get()) {
                    throw new SetupException(problem);
                }
                c.unwrap(PGConnection.class).getNotifications((int) Math.min(1_000, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
            }
        }
    }

    /** Every table the snapshot planned is one this worker copies, with the columns it was planned with. */
    private void checkSameTables() throws SQLException {
        List<String> problems = new ArrayList<>();
        try (Connection c = open(shadow, "shadow")) {
            Map<TableId, String> planned = new LinkedHashMap<>();
            journal.parts(c).forEach(p -> planned.put(p.table(), p.columns()));
            for (Map.Entry<TableId, String> e : planned.entrySet()) {
                TableSpec spec = tables.get(e.getKey());
                if (spec == null) {
                    problems.add("table " + e.getKey() + " is not in the worker's `tables`");
                }
                else if (!PartPlanner.columns(spec).equals(e.getValue())) {
                    problems.add("table " + e.getKey() + " has other columns on the source than when the snapshot planned it");
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new SetupException("this worker cannot copy parts of pipeline " + checkpoints.pipeline() + "'s snapshot: "
                    + String.join("; ", problems) + "; give the workers the configuration the `snapshot` runs with");
        }
    }

    /** An exported snapshot that no longer exists (its exporting transaction ended): 22023, invalid snapshot identifier. */
    private static boolean snapshotGone(SQLException e) {
        return "22023".equals(e.getSQLState());
    }

    private Connection openUnder(String exported) throws SQLException {
        Connection src = open(source, "source");
        try {
            src.setAutoCommit(false);
            try (Statement st = src.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                st.execute("SET TRANSACTION SNAPSHOT " + Identifiers.literal(exported));
            }
            return src;
        }
        catch (SQLException e) {
            src.close();
            throw e;
        }
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            }
            catch (SQLException | RuntimeException ignored) {
                // The source transaction only read; a connection left mid-COPY may not even close cleanly.
            }
        }
    }

    private Connection open(ConnectionSettings where, String role) throws SQLException {
        return DriverManager.getConnection(where.jdbcUrl(), where.jdbcProperties("scry-backfill snapshot-worker " + role + " "
                + checkpoints.pipeline()));
    }
}
