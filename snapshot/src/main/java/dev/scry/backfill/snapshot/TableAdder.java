package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.schema.SchemaDiff;
import dev.scry.backfill.sink.schema.SchemaPlan;
import dev.scry.backfill.sink.schema.SchemaScope;
import dev.scry.backfill.sink.schema.SchemaSettings;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.sink.ShadowTypes;
import dev.scry.backfill.sink.ShadowWriter;
import dev.scry.backfill.source.PositionCodec;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourceCatalog;

/**
 * Adds one table to a pipeline that already streams (a table created on the source that a pattern
 * in {@code tables} matches, or one added to {@code tables} later), or copies one of its tables
 * again ({@code table resnapshot}), with nothing lost or doubled.
 *
 * <p>In one source transaction the table is locked against writes ({@code SHARE}, which waits for
 * writers in flight and lets readers through), added to the publication (a joining table), and
 * copied; the copy is committed on the shadow, then the source transaction commits. Every write to
 * the table committed before the lock is in the copy; every later one commits after the lock's
 * position (and, for a joining table, after the publication change in the WAL), so it comes out of
 * the slot. The lock is asked for with a short {@code lock_timeout}
 * so that it never queues writers behind a long transaction; the caller tries again later. It is
 * held while the table is copied: meant for new, small tables.
 */
public final class TableAdder {

    private static final Logger LOG = LoggerFactory.getLogger(TableAdder.class);
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    private final ConnectionSettings source;
    private final ConnectionSettings shadow;
    private final String publication;
    private final CheckpointStore checkpoints;
    private final ShadowWriter writer;
    private final dev.scry.backfill.throttle.Throttle throttle;
    private final dev.scry.backfill.transform.TransformChain chain;
    private final SchemaSettings schema;

    public TableAdder(ConnectionSettings source, ConnectionSettings shadow, String publication, CheckpointStore checkpoints,
                      dev.scry.backfill.throttle.Throttle throttle, dev.scry.backfill.transform.TransformChain chain, SchemaSettings schema) {
        this.chain = chain;
        this.schema = schema;
        this.source = source;
        this.shadow = shadow;
        this.publication = publication;
        this.checkpoints = checkpoints;
        this.writer = ShadowWriter.forLoads(checkpoints.pipeline());
        this.throttle = throttle;
    }

    /**
     * Publishes and copies the table; {@code joined} runs once the copy is committed on the shadow
     * and before the publication change commits, so the pipeline knows the table before any of its
     * changes can arrive ({@code joined} should register the table's shadow shape, {@code chain.shape(spec)}). Returns the rows copied, or empty when the lock was not granted in time.
     */
    public OptionalLong add(TableSpec spec, Runnable joined) throws SQLException {
        return copyUnderLock(spec, true, (dst, at, rows) -> writer.count(dst, Map.of(spec.id(), new TableCounts(rows, 0, 0, 0, 0))),
                joined);
    }

    /**
     * Copies a table of a stopped pipeline again ({@code table resnapshot}): its shadow rows are
     * replaced by the source's as of a position P read under the lock, and recorded on the shadow,
     * in the copy's transaction, as a part of the snapshot journal copied whole at P, with the
     * checkpoint's overlap extended to P. The stream then skips that table's changes committed
     * before P (see {@link dev.scry.backfill.source.SnapshotOverlap}), the one it could not apply
     * included, and applies every later one; other tables' changes are applied as ever. Returns
     * the rows copied, or empty when the lock was not granted in time.
     */
    public OptionalLong recopy(TableSpec spec) throws SQLException {
        return copyUnderLock(spec, false, (dst, at, rows) -> {
            Checkpoint checkpoint = checkpoints.read(dst).orElseThrow(() -> new SetupException("pipeline " + checkpoints.pipeline()
                    + " has no checkpoint on the shadow; there is nothing to copy a table again for"));
            Map<String, Object> offset = PositionCodec.withOverlapUntil(checkpoint.offset().orElseThrow(), at);
            long before = checkpoints.progress(dst).getOrDefault(spec.id(), TableCounts.ZERO).snapshotRows();
            new SnapshotJournal(checkpoints.pipeline()).recopied(dst, spec.id(), PartPlanner.columns(spec), at, rows);
            writer.checkpoint(dst, checkpoint.slot(), new SourcePosition(checkpoint.phase(), checkpoint.lsn(), offset),
                    Map.of(spec.id(), new TableCounts(rows - before, 0, 0, 0, 0)));
        }, () -> { });
    }

    /** One attempt at a copy under the table's lock: empty when the lock was not granted in time. */
    public interface LockedCopy {
        OptionalLong attempt() throws SQLException;
    }

    /**
     * Tries a copy until its lock is granted, a second apart, for about a minute; the rows copied.
     * A table that stays busy for that long is a {@link PipelineFailure}: try at a quieter time.
     */
    public static long whenLocked(TableId table, LockedCopy copy) throws SQLException, InterruptedException {
        for (int attempt = 1; attempt <= 30; attempt++) {
            OptionalLong rows = copy.attempt();
            if (rows.isPresent()) {
                return rows.getAsLong();
            }
            Thread.sleep(1000);
        }
        throw new PipelineFailure("table " + table + " could not be locked against writes for 2 s in 30 attempts, so it cannot be"
                + " copied consistently; try again at a quieter time");
    }

    /** What is written on the shadow with the copied rows, in their transaction. */
    private interface Record {
        void write(Connection shadow, Lsn copiedAt, long rows) throws SQLException;
    }

    /**
     * One source transaction: lock the table against writes, optionally publish it, read the
     * position the copy is at, copy; the shadow transaction (emptied table, rows, {@code record})
     * commits first, then {@code beforeSourceCommit} runs, then the source transaction commits.
     */
    private OptionalLong copyUnderLock(TableSpec spec, boolean publish, Record record, Runnable beforeSourceCommit) throws SQLException {
        try (Connection src = open(source, "source"); Connection dst = open(shadow, "shadow")) {
            if (new SourceAdmin(src).server().standby()) {
                throw new SetupException("table " + spec.id() + " cannot be " + (publish ? "added to" : "copied again for")
                        + " the pipeline while it reads from a standby: a copy consistent with the stream takes a lock on the table"
                        + (publish ? " and a publication change" : "") + " on the primary. Point source.host at the primary for it, or"
                        + (publish ? " leave the table out of `tables`" : " start the pipeline over"));
            }
            // A new table is small: its keys, indexes and constraints are created with it.
            createOnShadow(src, dst, spec);
            src.setAutoCommit(false);
            dst.setAutoCommit(false);
            try {
                Lsn at;
                try (Statement st = src.createStatement()) {
                    st.execute("SET LOCAL lock_timeout = '2s'");
                    st.execute("LOCK TABLE " + spec.id().quoted() + " IN SHARE MODE");
                    // Writes to the table committed before this point are in the copy; later ones
                    // wait for the lock, so they commit after it.
                    try (java.sql.ResultSet rs = st.executeQuery("SELECT pg_current_wal_insert_lsn()::text")) {
                        rs.next();
                        at = Lsn.parse(rs.getString(1));
                    }
                }
                if (publish) {
                    new SourceAdmin(src).ensurePublication(publication, List.of(spec.id()));
                }
                // Left over from an attempt whose source transaction did not commit, or the rows to replace.
                writer.empty(dst, spec.id());
                long rows = TableCopy.copy(src, dst, writer, TableCopy.Part.whole(spec), chain, throttle, () -> false, n -> { }).rows();
                record.write(dst, at, rows);
                dst.commit();
                beforeSourceCommit.run();
                src.commit();
                LOG.info("{} table {}: {} rows copied at {}, its later changes follow in the stream", publish ? "added" : "copied again",
                        spec.id(), rows, at);
                return OptionalLong.of(rows);
            }
            catch (SQLException | RuntimeException e) {
                src.rollback();
                dst.rollback();
                if (e instanceof SQLException sql && LOCK_NOT_AVAILABLE.equals(sql.getSQLState())) {
                    LOG.info("table {} is busy (no write lock within 2 s); trying again later", spec.id());
                    return OptionalLong.empty();
                }
                throw e;
            }
        }
    }

    /**
     * Creates the table on the shadow as the source has it (with its keys, indexes, constraints
     * and the types they use), or checks the one there; commits on its own. A table copied by
     * chunks while streaming ({@link ChunkedCopy}) is prepared this way too.
     */
    public void prepareShadow(TableSpec spec) throws SQLException {
        try (Connection src = open(source, "source"); Connection dst = open(shadow, "shadow")) {
            createOnShadow(src, dst, spec);
        }
    }

    private void createOnShadow(Connection src, Connection dst, TableSpec spec) throws SQLException {
        SourceCatalog.Relation relation = new SourceCatalog(src).relation(spec.id()).orElseThrow(() -> new SQLException(
                "table " + spec.id() + " disappeared from the source"));
        ShadowTypes.ensure(src, dst, Map.of(relation.oid(), chain.columnsKeepingType(spec)));
        SchemaPlan plan = new SchemaSync(new SchemaScope(List.of(spec.id()), List.of(), new TransformShaping(chain, List.of(spec)), schema))
                .plan(src, dst);
        SchemaDiff diff = plan.diff();
        diff.refuseDifferences();
        ShadowTypes.ensureTypes(src, dst, plan.source().types());
        dst.setAutoCommit(false);
        SchemaSync.create(dst, diff.missing());
        dst.commit();
        dst.setAutoCommit(true);
    }

    private static Connection open(ConnectionSettings where, String role) throws SQLException {
        return DriverManager.getConnection(where.jdbcUrl(), where.jdbcProperties("scry-backfill add-table " + role));
    }
}
