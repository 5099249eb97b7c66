package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.SnapshotJournal;
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
import dev.scry.backfill.source.PgOutputSource;
import dev.scry.backfill.source.SlotCreation;
import dev.scry.backfill.source.SourceServer;
import dev.scry.backfill.source.SlotInfo;
import dev.scry.backfill.source.SnapshotOverlap;
import dev.scry.backfill.source.SourceAdmin;
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
 * <p>The work is planned in parts ({@link PartPlanner}) and journalled on the shadow
 * ({@link SnapshotJournal}): each part commits with its journal entry. The exported snapshot lives
 * only while the connection that created the slot stays open and idle, so an interrupted copy
 * continues under another exported snapshot, later in the stream ({@link #continueRun}), and the
 * stream skips the changes already in the parts copied then (the snapshot overlap).
 *
 * <p>Shadow tables whose primary key is their only index get it after their rows are in (see
 * {@link SnapshotJournal#deferPrimaryKey}): a sorted build costs the shadow half of what keeping
 * the index up row by row does.
 */
public final class CopySnapshot {

    private static final Logger LOG = LoggerFactory.getLogger(CopySnapshot.class);

    private final ConnectionSettings source;
    private final ConnectionSettings shadow;
    private final String slot;
    private final SlotCreation slotCreation;
    private final CheckpointStore checkpoints;
    private final List<TableSpec> tables;
    private final Throttle throttle;
    private final SnapshotProgress progress;
    private final int parallelism;
    private final long chunkBytes;
    private final TransformChain chain;
    private final SnapshotJournal journal;
    private final AtomicBoolean stop = new AtomicBoolean();

    public CopySnapshot(ConnectionSettings source, ConnectionSettings shadow, String slot, SlotCreation slotCreation,
                        CheckpointStore checkpoints, List<TableSpec> tables, Throttle throttle, SnapshotProgress progress,
                        SnapshotSettings settings, TransformChain chain) {
        this.chain = chain;
        this.source = source;
        this.shadow = shadow;
        this.slot = slot;
        this.slotCreation = slotCreation;
        this.checkpoints = checkpoints;
        this.tables = List.copyOf(tables);
        this.throttle = throttle;
        this.progress = progress;
        this.parallelism = Math.max(1, settings.parallelism());
        this.chunkBytes = settings.chunkMegabytes() * 1024L * 1024L;
        this.journal = new SnapshotJournal(checkpoints.pipeline());
    }

    /** Asks the copy to stop between rows; {@link #run()} then returns empty-handed. */
    public void requestStop() {
        stop.set(true);
    }

    /**
     * Creates the slot, copies every table and commits the checkpoint at the slot's consistent
     * point. Returns that point, or {@code null} when stopped before the copy completed (the
     * checkpoint then still says "snapshot", and {@link #continueRun} takes it from there).
     */
    public Lsn run() throws SQLException, InterruptedException {
        try (Connection replication = openReplication()) {
            String[] created = createSlot(replication, Identifiers.quote(slot), false);
            Lsn consistentPoint = Lsn.parse(created[0]);
            String exported = created[1];
            List<TableCopy.Part> parts;
            try (Connection src = open(source, "source")) {
                parts = PartPlanner.plan(src, bySizeDescending(), chunkBytes);
            }
            int deferred = 0;
            try (Connection c = open(shadow, "shadow")) {
                c.setAutoCommit(false);
                journal.plan(c, parts.stream().map(p -> new SnapshotJournal.Part(p.id(), p.table().id(), p.kind(), p.from(), p.to(),
                        PartPlanner.columns(p.table()), null, 0)).toList());
                // The position the copy is consistent with, so that a continued snapshot knows it.
                checkpoints.write(c, slot, new SourcePosition(Phase.SNAPSHOT, consistentPoint, PgOutputSource.offsetAt(consistentPoint)), Map.of());
                for (TableSpec table : tables) {
                    if (journal.deferPrimaryKey(c, table.id())) {
                        deferred++;
                    }
                }
                c.commit();
            }
            LOG.info("created replication slot {} at {}; copying {} table(s) in {} part(s) under its exported snapshot {}{}", slot,
                    consistentPoint, tables.size(), parts.size(), exported,
                    deferred == 0 ? "" : "; " + deferred + " primary key(s) built after their table's rows are in");
            if (!copyAll(exported, consistentPoint, parts)) {
                return null;
            }
            return complete(consistentPoint, null);
        }
    }

    /**
     * Continues an interrupted copy: parts already committed stay; what is missing is copied under
     * a new exported snapshot, taken by a temporary slot at a later position. The rows of those
     * parts are then newer than the rest: every change between the two positions that touches
     * them is already in them, so the stream skips exactly those (see the offset's overlap), and
     * applies every other change from the first position on. A table cut by page ranges cannot be
     * told apart in the stream part by part; it is copied again whole.
     *
     * @param consistentPoint the original slot's consistent point, where streaming will start
     */
    public Lsn continueRun(Lsn consistentPoint) throws SQLException, InterruptedException {
        Map<TableId, TableSpec> byId = new LinkedHashMap<>();
        tables.forEach(t -> byId.put(t.id(), t));
        List<SnapshotJournal.Part> planned;
        try (Connection c = open(shadow, "shadow")) {
            c.setAutoCommit(false);
            planned = journal.parts(c);
            Set<TableId> whole = new LinkedHashSet<>();
            for (SnapshotJournal.Part p : planned) {
                if (!p.copied() && p.kind() != SnapshotJournal.Kind.KEYS) {
                    whole.add(p.table());
                }
            }
            for (TableId table : whole) {
                long rows = planned.stream().filter(p -> p.table().equals(table) && p.copied()).mapToLong(SnapshotJournal.Part::rows).sum();
                try (Statement st = c.createStatement()) {
                    st.execute("TRUNCATE " + table.quoted());
                }
                journal.uncopied(c, table);
                checkpoints.addCounts(c, Map.of(table, new TableCounts(-rows, 0, 0, 0, 0)));
            }
            // Tables whose every part was in before the interruption get their key now.
            for (TableId table : byId.keySet()) {
                if (planned.stream().noneMatch(p -> p.table().equals(table) && !p.copied()) && !whole.contains(table)) {
                    journal.restorePrimaryKey(c, table);
                }
            }
            c.commit();
            planned = journal.parts(c);
            c.commit();
        }
        List<TableCopy.Part> missing = new ArrayList<>();
        for (SnapshotJournal.Part p : planned) {
            if (!p.copied()) {
                missing.add(new TableCopy.Part(p.id(), byId.get(p.table()), p.kind(), p.from(), p.to()));
            }
        }
        long done = planned.size() - missing.size();
        if (missing.isEmpty()) {
            LOG.info("continuing the interrupted snapshot: all {} part(s) were copied", planned.size());
            return complete(consistentPoint, overlapUntil(consistentPoint, planned));
        }
        try (Connection replication = openReplication()) {
            // A temporary slot, dropped with this connection: it only serves to export a snapshot
            // whose position in the stream is known exactly.
            String[] created = createSlot(replication, Identifiers.quote(slot + "_continue"), true);
            Lsn at = Lsn.parse(created[0]);
            LOG.info("continuing the interrupted snapshot: {} of {} part(s) were copied; copying the other {} under a new snapshot"
                    + " at {} (changes to them up to there are skipped when streaming from {})", done, planned.size(), missing.size(), at,
                    consistentPoint);
            if (!copyAll(created[1], at, missing)) {
                return null;
            }
        }
        List<SnapshotJournal.Part> after;
        try (Connection c = open(shadow, "shadow")) {
            after = journal.parts(c);
        }
        return complete(consistentPoint, overlapUntil(consistentPoint, after));
    }

    /**
     * Whether an interrupted copy snapshot can be continued, and if not, why: it needs the slot
     * it began with, its journal, and the same tables with the same columns.
     */
    public static Optional<String> whyNotContinuable(Connection source, Connection shadow, CheckpointStore checkpoints, String slot,
                                                     List<TableSpec> tables) throws SQLException {
        Optional<Checkpoint> cp = checkpoints.read(shadow);
        if (cp.isEmpty() || cp.get().phase() != Phase.SNAPSHOT || cp.get().offset().isEmpty()
                || cp.get().lsn().equals(Lsn.ZERO) || !PgOutputSource.canResume(cp.get().offset().get())) {
            return Optional.of("it stopped before its slot was created");
        }
        Optional<SlotInfo> existing = new SourceAdmin(source).slot(slot);
        if (existing.isEmpty() || existing.get().confirmedFlush() == null || existing.get().confirmedFlush().isAfter(cp.get().lsn())) {
            return Optional.of("its replication slot " + slot + " is gone or has moved");
        }
        List<SnapshotJournal.Part> planned = new SnapshotJournal(checkpoints.pipeline()).parts(shadow);
        if (planned.isEmpty()) {
            return Optional.of("it left no record of its parts");
        }
        Map<TableId, String> shapes = new LinkedHashMap<>();
        planned.forEach(p -> shapes.put(p.table(), p.columns()));
        Map<TableId, String> now = new LinkedHashMap<>();
        tables.forEach(t -> now.put(t.id(), PartPlanner.columns(t)));
        if (!shapes.equals(now)) {
            return Optional.of("the tables or their columns are not the ones it began with");
        }
        return Optional.empty();
    }

    /**
     * The parts of a continued snapshot copied after {@code from} (where streaming now starts), as
     * the stream needs them to skip the changes already in their rows.
     */
    public static SnapshotOverlap overlap(Connection shadow, String pipeline, Lsn from, Lsn until) throws SQLException {
        Map<TableId, List<SnapshotOverlap.Part>> tables = new LinkedHashMap<>();
        for (SnapshotJournal.Part p : new SnapshotJournal(pipeline).parts(shadow)) {
            if (p.copiedAt() != null && p.copiedAt().isAfter(from)) {
                boolean keys = p.kind() == SnapshotJournal.Kind.KEYS;
                tables.computeIfAbsent(p.table(), t -> new ArrayList<>())
                        .add(new SnapshotOverlap.Part(keys ? p.from() : null, keys ? p.to() : null, p.copiedAt()));
            }
        }
        return new SnapshotOverlap(until, tables);
    }

    /**
     * The latest position a part was copied at, when a part was copied after the consistent point
     * streaming starts from (every part, when the first run committed none); else null.
     */
    private static Lsn overlapUntil(Lsn consistentPoint, List<SnapshotJournal.Part> parts) {
        Lsn last = null;
        for (SnapshotJournal.Part p : parts) {
            if (p.copiedAt() != null && p.copiedAt().isAfter(consistentPoint) && (last == null || p.copiedAt().isAfter(last))) {
                last = p.copiedAt();
            }
        }
        return last;
    }

    /** Builds the keys still deferred and commits the checkpoint that starts streaming at {@code consistentPoint}. */
    private Lsn complete(Lsn consistentPoint, Lsn overlapUntil) throws SQLException {
        try (Connection c = open(shadow, "shadow")) {
            c.setAutoCommit(false);
            for (TableSpec table : tables) {
                if (journal.restorePrimaryKey(c, table.id())) {
                    c.commit();
                }
            }
            Map<String, Object> offset = new LinkedHashMap<>(PgOutputSource.offsetAt(consistentPoint));
            if (overlapUntil != null) {
                offset.put(PgOutputSource.OVERLAP_UNTIL, overlapUntil.value());
            }
            checkpoints.write(c, slot, new SourcePosition(Phase.STREAMING, consistentPoint, offset), Map.of());
            c.commit();
        }
        LOG.info("snapshot complete; streaming starts at the slot's consistent point {}", consistentPoint);
        return consistentPoint;
    }

    /** Creates a slot on the replication connection; its snapshot stays importable until the connection runs anything else. */
    private String[] createSlot(Connection replication, String name, boolean temporary) throws SQLException {
        String sql = slotCreation.exportingCommand(SourceServer.of(replication), name, temporary);
        try (Statement st = replication.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new String[] {rs.getString("consistent_point"), rs.getString("snapshot_name")};
        }
        catch (SQLException e) {
            if ("42710".equals(e.getSQLState())) {
                throw new SetupException("replication slot " + name + " already exists on the source; if it is left over from"
                        + " this pipeline run `teardown`, otherwise set `slot:` to another name");
            }
            if (SlotCreation.unprepared(e, name).isPresent()) {
                throw SlotCreation.unprepared(e, name).get();
            }
            throw e;
        }
    }

    /** Copies the parts with the workers, each under the exported snapshot, whose rows are at {@code at}. */
    private boolean copyAll(String exported, Lsn at, List<TableCopy.Part> parts) throws SQLException, InterruptedException {
        ConcurrentLinkedQueue<TableCopy.Part> queue = new ConcurrentLinkedQueue<>(parts);
        Map<TableId, AtomicInteger> remaining = new ConcurrentHashMap<>();
        parts.forEach(p -> remaining.computeIfAbsent(p.table().id(), t -> new AtomicInteger()).incrementAndGet());
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
                    copyParts(exported, at, queue, remaining);
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
     * One worker: one source transaction under the exported snapshot, one shadow transaction per
     * part (its rows and its journal entry). The worker that commits a table's last part builds
     * the table's deferred key, while the others go on copying.
     */
    private void copyParts(String exported, Lsn at, ConcurrentLinkedQueue<TableCopy.Part> queue, Map<TableId, AtomicInteger> remaining)
            throws SQLException {
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
                journal.copied(dst, part.id(), at, rows);
                dst.commit();
                LOG.info("copied {} rows of {}{} (COPY in {})", rows, table.id(), part.describe(), copied.format());
                if (remaining.get(table.id()).decrementAndGet() == 0) {
                    long started = System.nanoTime();
                    if (journal.restorePrimaryKey(dst, table.id())) {
                        dst.commit();
                        LOG.info("built the primary key of {} in {} ms", table.id(), (System.nanoTime() - started) / 1_000_000);
                    }
                }
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
