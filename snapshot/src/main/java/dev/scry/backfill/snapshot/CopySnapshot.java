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
import dev.scry.backfill.checkpoint.SnapshotClaims;
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
import dev.scry.backfill.sink.ShadowWriter;
import dev.scry.backfill.source.PositionCodec;
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
 * <p>The shadow's post-data (keys, indexes, constraints, triggers: see the schema sync) waits in
 * the journal until the rows it needs are in, and the workers build it between parts, as
 * pg_restore does: a sorted build costs the shadow far less than keeping an index up row by row,
 * and a foreign key is checked once, after both its tables are loaded. Streaming starts only
 * once all of it is built (the apply needs the keys).
 */
public final class CopySnapshot {

    private static final Logger LOG = LoggerFactory.getLogger(CopySnapshot.class);

    private final ConnectionSettings source;
    private final ConnectionSettings shadow;
    private final String slot;
    private final SlotCreation slotCreation;
    private final CheckpointStore checkpoints;
    private final ShadowWriter writer;
    private final List<TableSpec> tables;
    private final Throttle throttle;
    private final SnapshotProgress progress;
    private final int parallelism;
    private final long chunkBytes;
    private final TransformChain chain;
    private final SnapshotJournal journal;
    private final SnapshotClaims shared;
    private final int claimTimeoutMillis;
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
        this.writer = ShadowWriter.forLoads(checkpoints.pipeline());
        this.tables = List.copyOf(tables);
        this.throttle = throttle;
        this.progress = progress;
        this.parallelism = Math.max(1, settings.parallelism());
        this.chunkBytes = settings.chunkMegabytes() * 1024L * 1024L;
        this.journal = new SnapshotJournal(checkpoints.pipeline());
        this.shared = new SnapshotClaims(checkpoints.pipeline());
        this.claimTimeoutMillis = settings.claimTimeoutMillis();
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
                parts = PartPlanner.plan(src, bySizeDescending(src), chunkBytes);
            }
            int deferred;
            try (Connection c = open(shadow, "shadow")) {
                c.setAutoCommit(false);
                journal.plan(c, parts.stream().map(p -> new SnapshotJournal.Part(p.id(), p.table().id(), p.kind(), p.from(), p.to(),
                        PartPlanner.columns(p.table()), null, 0)).toList());
                // The position the copy is consistent with, so that a continued snapshot knows it.
                writer.checkpoint(c, slot, new SourcePosition(Phase.SNAPSHOT, consistentPoint, PositionCodec.atBoundary(consistentPoint)), Map.of());
                // Snapshot workers (`snapshot-worker`) import it from here and claim parts as this process does.
                shared.publish(c, new SnapshotClaims.Export(exported, consistentPoint, PartClaims.holderName("snapshot"), claimTimeoutMillis));
                deferred = journal.deferred(c).size();
                c.commit();
            }
            LOG.info("created replication slot {} at {}; copying {} table(s) in {} part(s) under its exported snapshot {}{}", slot,
                    consistentPoint, tables.size(), parts.size(), exported,
                    deferred == 0 ? "" : "; " + deferred + " key(s), index(es), constraint(s) and trigger(s) built once their rows are in");
            if (!copyAll(exported, consistentPoint)) {
                return null;
            }
            List<SnapshotJournal.Part> after;
            try (Connection c = open(shadow, "shadow")) {
                after = journal.parts(c);
            }
            // Every part at the consistent point, unless a worker holding an older export copied one (continued snapshots only).
            return complete(consistentPoint, overlapUntil(consistentPoint, after));
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
            // No part is claimed under the dead process's export any more; workers that imported
            // it finish the part in hand (a table copied again whole below fences theirs out).
            shared.unpublish(c);
            planned = journal.parts(c);
            Set<TableId> whole = new LinkedHashSet<>();
            for (SnapshotJournal.Part p : planned) {
                if (!p.copied() && p.kind() != SnapshotJournal.Kind.KEYS) {
                    whole.add(p.table());
                }
            }
            for (TableId table : whole) {
                long rows = planned.stream().filter(p -> p.table().equals(table) && p.copied()).mapToLong(SnapshotJournal.Part::rows).sum();
                writer.empty(c, table);
                journal.uncopied(c, table);
                writer.count(c, Map.of(table, new TableCounts(-rows, 0, 0, 0, 0)));
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
            if (!copyAll(null, consistentPoint)) {
                return null;
            }
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
            try (Connection c = open(shadow, "shadow")) {
                c.setAutoCommit(false);
                shared.publish(c, new SnapshotClaims.Export(created[1], at, PartClaims.holderName("snapshot"), claimTimeoutMillis));
                c.commit();
            }
            if (!copyAll(created[1], at)) {
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
                || cp.get().lsn().equals(Lsn.ZERO) || PositionCodec.boundary(cp.get().offset().get()).isEmpty()) {
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

    /** Builds whatever post-data is still deferred and commits the checkpoint that starts streaming at {@code consistentPoint}. */
    private Lsn complete(Lsn consistentPoint, Lsn overlapUntil) throws SQLException {
        try (Connection c = open(shadow, "shadow")) {
            c.setAutoCommit(false);
            for (SnapshotJournal.Deferred d : journal.deferred(c)) {
                build(c, d);
            }
            Map<String, Object> offset = overlapUntil == null ? PositionCodec.atBoundary(consistentPoint)
                    : PositionCodec.withOverlapUntil(PositionCodec.atBoundary(consistentPoint), overlapUntil);
            writer.checkpoint(c, slot, new SourcePosition(Phase.STREAMING, consistentPoint, offset), Map.of());
            shared.unpublish(c);
            Map<String, Integer> by = shared.partsBy(c);
            Map<TableId, Long> rows = shared.rowsPerTable(c);
            c.commit();
            if (by.size() > 1) {
                LOG.info("parts copied per process: {}", by);
                progress.settle(rows);
            }
        }
        LOG.info("snapshot complete; streaming starts at the slot's consistent point {}", consistentPoint);
        return consistentPoint;
    }

    /**
     * Builds one deferred object and commits it with its journal entry. Two builds at once may
     * deadlock on the tables they share (a foreign key and its referenced table's index): the
     * one PostgreSQL picks is tried again.
     */
    private void build(Connection dst, SnapshotJournal.Deferred d) throws SQLException {
        long started = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            try {
                journal.build(dst, d);
                dst.commit();
                break;
            }
            catch (SQLException e) {
                dst.rollback();
                if ("40P01".equals(e.getSQLState()) && attempt < 5) {
                    continue;
                }
                throw new PipelineFailure("cannot build " + d.key() + " on the shadow after the load: "
                        + dev.scry.backfill.error.SqlErrors.describe(e) + "; it waits in the snapshot journal: fix the cause on the"
                        + " shadow and run `resume`", e);
            }
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        if (d.kind().equals("primary-key")) {
            LOG.info("built the primary key of {} in {} ms ({})", d.table(), ms, d.key());
        }
        else {
            LOG.info("built {} in {} ms", d.key(), ms);
        }
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

    /**
     * Copies the journal's parts not copied yet, each under the exported snapshot (rows at
     * {@code at}), claimed one at a time as snapshot workers in other processes claim them too,
     * and builds the deferred post-data as the rows it needs come in (whoever copied them).
     * {@code exported} null: nothing to copy, only post-data to build.
     */
    private boolean copyAll(String exported, Lsn at) throws SQLException, InterruptedException {
        Map<TableId, TableSpec> byId = new LinkedHashMap<>();
        tables.forEach(t -> byId.put(t.id(), t));
        PostData post;
        try (Connection c = open(shadow, "shadow")) {
            Set<TableId> loading = new LinkedHashSet<>();
            for (SnapshotJournal.Part p : journal.parts(c)) {
                if (!p.copied()) {
                    loading.add(p.table());
                }
            }
            post = new PostData(journal.deferred(c), loading);
        }
        AtomicInteger inFlight = new AtomicInteger();
        int workers = parallelism;
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "snapshot-copy");
            t.setDaemon(true);
            return t;
        });
        try (PartClaims claims = new PartClaims(shared, shadow, "snapshot", claimTimeoutMillis)) {
            PartCopier copier = new PartCopier(checkpoints.pipeline(), chain, throttle, claims, progress);
            List<Future<Void>> futures = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                futures.add(pool.submit(() -> {
                    work(exported, at, byId, post, claims, copier, inFlight);
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                try {
                    f.get();
                }
                catch (ExecutionException e) {
                    stop.set(true);
                    post.wake();
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
        if (stop.get()) {
            withdrawExport();
        }
        return !stop.get();
    }

    /** A stopped copy withdraws its export (it dies with this process): workers then finish the part in hand and exit. */
    private void withdrawExport() {
        try (Connection c = open(shadow, "shadow")) {
            shared.unpublish(c);
        }
        catch (SQLException e) {
            LOG.debug("could not withdraw the exported snapshot: {}", e.getMessage());
        }
    }

    /**
     * One copying thread: builds whatever post-data is ready, else claims and copies the next
     * part (one source transaction under the exported snapshot, opened at its first part; one
     * shadow transaction per part, its rows and its journal entry), else waits for a part held
     * elsewhere to be copied (or its claim to expire), a table to be loaded or an object built;
     * stops when neither parts nor post-data are left that it could take.
     */
    private void work(String exported, Lsn at, Map<TableId, TableSpec> byId, PostData post, PartClaims claims, PartCopier copier,
                      AtomicInteger inFlight) throws SQLException, InterruptedException {
        Connection src = null;
        try (Connection dst = open(shadow, "shadow")) {
            dst.setAutoCommit(false);
            while (!stop.get()) {
                Optional<SnapshotJournal.Deferred> ready = post.next();
                if (ready.isPresent()) {
                    try {
                        build(dst, ready.get());
                        post.built(ready.get());
                    }
                    catch (RuntimeException | SQLException e) {
                        post.failed(ready.get());
                        throw e;
                    }
                    continue;
                }
                inFlight.incrementAndGet();
                Optional<SnapshotClaims.Claim> claim = exported == null ? Optional.empty() : claims.claim(dst, exported);
                if (claim.isEmpty()) {
                    inFlight.decrementAndGet();
                    Set<TableId> loaded = shared.loadedTables(dst);
                    int left = shared.uncopiedParts(dst);
                    dst.commit();
                    loaded.forEach(post::loaded);
                    if (left == 0 && (post.isEmpty() || (inFlight.get() == 0 && !post.anyBuilding() && !post.anyReady()))) {
                        // Nothing left that another thread could change: what is still deferred
                        // (if anything) is built by complete().
                        post.wake();
                        return;
                    }
                    // A part held elsewhere: copied there, or claimed here once its claim expires.
                    post.await(200);
                    continue;
                }
                SnapshotJournal.Part p = claim.get().part();
                TableCopy.Part part = new TableCopy.Part(p.id(), byId.get(p.table()), p.kind(), p.from(), p.to());
                try {
                    if (src == null) {
                        src = openUnder(exported);
                    }
                    PartCopier.Outcome outcome = copier.copy(src, dst, part, claim.get(), at, stop::get);
                    if (outcome == PartCopier.Outcome.STOPPED) {
                        return;
                    }
                    if (outcome == PartCopier.Outcome.LOST) {
                        // A COPY cancelled part-way aborts the source transaction: import the snapshot again.
                        closeQuietly(src);
                        src = null;
                    }
                }
                finally {
                    inFlight.decrementAndGet();
                }
                Set<TableId> loaded = shared.loadedTables(dst);
                dst.commit();
                loaded.forEach(post::loaded);
            }
        }
        finally {
            closeQuietly(src);
        }
    }

    private static void closeQuietly(Connection src) {
        if (src != null) {
            try {
                src.close();
            }
            catch (SQLException | RuntimeException ignored) {
                // A read-only transaction; a connection left mid-COPY may not even close cleanly.
            }
        }
    }

    /** A source connection in a read-only transaction under the exported snapshot. */
    private Connection openUnder(String exported) throws SQLException {
        Connection src = open(source, "source");
        src.setAutoCommit(false);
        try (Statement st = src.createStatement()) {
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            st.execute("SET TRANSACTION SNAPSHOT " + Identifiers.literal(exported));
        }
        return src;
    }

    /**
     * Largest first, in bytes on the source (TOAST included, a partitioned table's partitions added up), so that
     * the long copies start early and the workers finish together; the planner's row estimate
     * where the size cannot be read.
     */
    private List<TableSpec> bySizeDescending(Connection src) throws SQLException {
        Map<TableId, Long> bytes = new java.util.HashMap<>();
        try (PreparedStatement ps = src.prepareStatement("""
                SELECT coalesce(sum(pg_table_size(t.relid)), pg_table_size(?::regclass))
                FROM pg_partition_tree(?::regclass) t""")) {
            for (TableSpec table : tables) {
                ps.setString(1, table.id().quoted());
                ps.setString(2, table.id().quoted());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        bytes.put(table.id(), rs.getLong(1));
                    }
                }
            }
        }
        Map<TableId, Long> estimates = progress.estimates();
        List<TableSpec> sorted = new ArrayList<>(tables);
        sorted.sort(Comparator.comparingLong((TableSpec t) -> bytes.getOrDefault(t.id(), estimates.getOrDefault(t.id(), 0L))).reversed());
        return sorted;
    }

    private Connection openReplication() throws SQLException {
        return DriverManager.getConnection(source.jdbcUrl(), source.replicationProperties("scry-backfill snapshot " + slot));
    }

    private Connection open(ConnectionSettings where, String role) throws SQLException {
        return DriverManager.getConnection(where.jdbcUrl(), where.jdbcProperties("scry-backfill snapshot " + role + " " + slot));
    }
}
