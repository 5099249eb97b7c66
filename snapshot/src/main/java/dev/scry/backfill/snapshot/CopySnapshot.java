package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * The default snapshot: creates the replication slot on a replication connection, which exports
 * the snapshot the slot starts from, and copies every table under that exported snapshot with
 * {@code COPY ... TO STDOUT} straight into {@code COPY ... FROM STDIN} on the shadow.
 *
 * <p>Why this and not Debezium's snapshot: COPY's text format is each type's own output function,
 * so every value of every type arrives exactly as the source prints it (Debezium's snapshot goes
 * through JDBC objects and loses eras, offsets and calendar gaps), partitioned tables are read
 * through their parent, and rows move at COPY speed. Streaming then starts at the slot's
 * consistent point: every transaction committed before it is in the exported snapshot, every one
 * committed after it comes out of the slot, so nothing is missed or applied twice.
 *
 * <p>The exported snapshot lives only while the connection that created the slot stays open and
 * idle, so an interrupted copy cannot be continued: the plan starts it over under a new slot.
 */
public final class CopySnapshot {

    private static final Logger LOG = LoggerFactory.getLogger(CopySnapshot.class);

    private final ConnectionSettings source;
    private final ConnectionSettings shadow;
    private final String slot;
    private final CheckpointStore checkpoints;
    private final List<TableSpec> tables;
    private final Throttle throttle;
    private final SnapshotProgress progress;
    private final int parallelism;
    private final long chunkBytes;
    private final TransformChain chain;
    private final AtomicBoolean stop = new AtomicBoolean();

    public CopySnapshot(ConnectionSettings source, ConnectionSettings shadow, String slot, CheckpointStore checkpoints,
                        List<TableSpec> tables, Throttle throttle, SnapshotProgress progress, SnapshotSettings settings,
                        TransformChain chain) {
        this.chain = chain;
        this.source = source;
        this.shadow = shadow;
        this.slot = slot;
        this.checkpoints = checkpoints;
        this.tables = List.copyOf(tables);
        this.throttle = throttle;
        this.progress = progress;
        this.parallelism = Math.max(1, settings.parallelism());
        this.chunkBytes = settings.chunkMegabytes() * 1024L * 1024L;
    }

    /** Asks the copy to stop between rows; {@link #run()} then returns empty-handed. */
    public void requestStop() {
        stop.set(true);
    }

    /**
     * Creates the slot, copies every table and commits the checkpoint at the slot's consistent
     * point. Returns that point, or {@code null} when stopped before the copy completed (the
     * checkpoint then still says "snapshot", and the next run starts it over).
     */
    public Lsn run() throws SQLException, InterruptedException {
        try (Connection replication = openReplication()) {
            String[] created = createSlot(replication);
            Lsn consistentPoint = Lsn.parse(created[0]);
            String exported = created[1];
            LOG.info("created replication slot {} at {}; copying {} table(s) under its exported snapshot {}", slot, consistentPoint,
                    tables.size(), exported);
            if (!copyAll(exported)) {
                return null;
            }
            try (Connection c = open(shadow, "shadow")) {
                c.setAutoCommit(false);
                checkpoints.write(c, slot, new SourcePosition(Phase.STREAMING, consistentPoint, streamingOffset(consistentPoint)), Map.of());
                c.commit();
            }
            LOG.info("snapshot complete; streaming starts at the slot's consistent point {}", consistentPoint);
            return consistentPoint;
        }
    }

    /**
     * The engine's offset for "nothing after {@code lsn} processed yet": with no completely
     * processed LSN stored, the PostgreSQL connector streams from {@code lsn} without searching
     * for a commit to skip to.
     */
    public static Map<String, Object> streamingOffset(Lsn lsn) {
        return Map.of("lsn", lsn.value());
    }

    private String[] createSlot(Connection replication) throws SQLException {
        // On a replication connection the slot's creation exports its snapshot (EXPORT_SNAPSHOT is
        // the default for logical slots); it stays importable until this connection runs anything else.
        String sql = "CREATE_REPLICATION_SLOT " + Identifiers.quote(slot) + " LOGICAL pgoutput EXPORT_SNAPSHOT";
        try (Statement st = replication.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new String[] {rs.getString("consistent_point"), rs.getString("snapshot_name")};
        }
        catch (SQLException e) {
            if ("42710".equals(e.getSQLState())) {
                throw new SetupException("replication slot " + slot + " already exists on the source; if it is left over from"
                        + " this pipeline run `teardown`, otherwise set `slot:` to another name");
            }
            throw e;
        }
    }

    private boolean copyAll(String exported) throws SQLException, InterruptedException {
        ConcurrentLinkedQueue<TableCopy.Part> queue = new ConcurrentLinkedQueue<>(parts(bySizeDescending()));
        int workers = Math.min(parallelism, Math.max(1, queue.size()));
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "snapshot-copy");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                futures.add(pool.submit(() -> {
                    copyTables(exported, queue);
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                try {
                    f.get();
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
                    throw new PipelineFailure("snapshot copy failed: " + cause, cause);
                }
            }
        }
        catch (InterruptedException e) {
            stop.set(true);
            throw e;
        }
        finally {
            pool.shutdownNow();
        }
        return !stop.get();
    }

    /**
     * The work: whole tables, largest first, with a table larger than the chunk size cut into
     * ranges of its pages, so that the workers share a large table instead of one of them copying
     * it alone at the end. Every part is read under the same exported snapshot. Partitioned parents
     * (their rows live in the partitions, whose pages a range of the parent's cannot name) and
     * servers before PostgreSQL 14 (no scan by page range) copy whole tables.
     */
    private List<TableCopy.Part> parts(List<TableSpec> ordered) throws SQLException {
        List<TableCopy.Part> parts = new ArrayList<>();
        if (chunkBytes <= 0) {
            ordered.forEach(t -> parts.add(TableCopy.Part.whole(t)));
            return parts;
        }
        try (Connection c = open(source, "source")) {
            boolean tidRanges = c.getMetaData().getDatabaseMajorVersion() >= 14;
            for (TableSpec table : ordered) {
                long[] size = tidRanges ? pages(c, table.id()) : null;
                long pagesPerChunk = size == null ? 0 : Math.max(1, chunkBytes / size[1]);
                if (size == null || size[0] <= pagesPerChunk * 3 / 2) {
                    parts.add(TableCopy.Part.whole(table));
                    continue;
                }
                for (long from = 0; from < size[0]; from += pagesPerChunk) {
                    boolean last = from + pagesPerChunk >= size[0];
                    // The last part is open-ended: pages added since the size was read are read too.
                    parts.add(TableCopy.Part.pages(table, from, last ? -1 : from + pagesPerChunk));
                }
            }
        }
        return parts;
    }

    /** A plain table's pages and page size; null for a partitioned parent. */
    private static long[] pages(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::bigint, current_setting('block_size')::bigint
                FROM pg_class c WHERE c.oid = ?::regclass""")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !"r".equals(rs.getString(1))) {
                    return null;
                }
                return new long[] {rs.getLong(2), rs.getLong(3)};
            }
        }
    }

    /** One worker: one source transaction under the exported snapshot, one shadow transaction per part. */
    private void copyTables(String exported, ConcurrentLinkedQueue<TableCopy.Part> queue) throws SQLException {
        try (Connection src = open(source, "source"); Connection dst = open(shadow, "shadow")) {
            src.setAutoCommit(false);
            dst.setAutoCommit(false);
            try (Statement st = src.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                st.execute("SET TRANSACTION SNAPSHOT " + Identifiers.literal(exported));
            }
            TableCopy.Part part;
            while (!stop.get() && (part = queue.poll()) != null) {
                TableSpec table = part.table();
                TableCopy.Copied copied = TableCopy.copy(src, dst, part, chain, throttle, stop::get,
                        n -> progress.add(Map.of(table.id(), new TableCounts(n, 0, 0, 0, 0))));
                long rows = copied.rows();
                if (rows < 0) {
                    dst.rollback();
                    return;
                }
                checkpoints.addCounts(dst, Map.of(table.id(), new TableCounts(rows, 0, 0, 0, 0)));
                dst.commit();
                LOG.info("copied {} rows of {}{} (COPY in {})", rows, table.id(), part.describe(), copied.format());
            }
            src.rollback();
        }
    }

    /** Largest first, so that the long copies start early and the workers finish together. */
    private List<TableSpec> bySizeDescending() {
        Map<TableId, Long> estimates = progress.estimates();
        List<TableSpec> sorted = new ArrayList<>(tables);
        sorted.sort(Comparator.comparingLong((TableSpec t) -> estimates.getOrDefault(t.id(), 0L)).reversed());
        return sorted;
    }

    private Connection openReplication() throws SQLException {
        return DriverManager.getConnection(source.jdbcUrl(), source.replicationProperties("scry-backfill snapshot " + slot));
    }

    private Connection open(ConnectionSettings where, String role) throws SQLException {
        return DriverManager.getConnection(where.jdbcUrl(), where.jdbcProperties("scry-backfill snapshot " + role + " " + slot));
    }
}
