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

import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.schema.SchemaDiff;
import dev.scry.backfill.sink.schema.SchemaScope;
import dev.scry.backfill.sink.schema.SchemaSettings;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.sink.ShadowTypes;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourceCatalog;

/**
 * Adds one table to a pipeline that already streams (a table created on the source that a pattern
 * in {@code tables} matches, or one added to {@code tables} later), with nothing lost or doubled.
 *
 * <p>In one source transaction the table is locked against writes ({@code SHARE}, which waits for
 * writers in flight and lets readers through), added to the publication, and copied; the copy is
 * committed on the shadow, then the source transaction commits. Every write to the table
 * committed before the lock is in the copy; every later one comes after the publication change in
 * the WAL, so it comes out of the slot. The lock is asked for with a short {@code lock_timeout}
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
        this.throttle = throttle;
    }

    /**
     * Publishes and copies the table; {@code joined} runs once the copy is committed on the shadow
     * and before the publication change commits, so the pipeline knows the table before any of its
     * changes can arrive ({@code joined} should register the table's shadow shape, {@code chain.shape(spec)}). Returns the rows copied, or empty when the lock was not granted in time.
     */
    public OptionalLong add(TableSpec spec, Runnable joined) throws SQLException {
        try (Connection src = open(source, "source"); Connection dst = open(shadow, "shadow")) {
            SourceCatalog.Relation relation = new SourceCatalog(src).relation(spec.id()).orElseThrow(() -> new SQLException(
                    "table " + spec.id() + " disappeared from the source"));
            ShadowTypes.ensure(src, dst, List.of(relation.oid()));
            // A new table is small: its keys, indexes and constraints are created with it.
            SchemaDiff diff = new SchemaSync(new SchemaScope(List.of(spec.id()), List.of(), new TransformShaping(chain, List.of(spec)), schema))
                    .plan(src, dst).diff();
            diff.refuseDifferences();
            dst.setAutoCommit(false);
            SchemaSync.create(dst, diff.missing());
            dst.commit();
            src.setAutoCommit(false);
            dst.setAutoCommit(false);
            try {
                try (Statement st = src.createStatement()) {
                    st.execute("SET LOCAL lock_timeout = '2s'");
                    st.execute("LOCK TABLE " + spec.id().quoted() + " IN SHARE MODE");
                }
                new SourceAdmin(src).ensurePublication(publication, List.of(spec.id()));
                try (Statement st = dst.createStatement()) {
                    // Left over from an attempt whose source transaction did not commit.
                    st.execute("TRUNCATE " + spec.id().quoted());
                }
                long rows = TableCopy.copy(src, dst, TableCopy.Part.whole(spec), chain, throttle, () -> false, n -> { }).rows();
                checkpoints.addCounts(dst, Map.of(spec.id(), new TableCounts(rows, 0, 0, 0, 0)));
                dst.commit();
                joined.run();
                src.commit();
                LOG.info("added table {} to the pipeline: {} rows copied, its changes follow in the stream", spec.id(), rows);
                return OptionalLong.of(rows);
            }
            catch (SQLException e) {
                src.rollback();
                dst.rollback();
                if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
                    LOG.info("table {} is busy (no write lock within 2 s); trying again later", spec.id());
                    return OptionalLong.empty();
                }
                throw e;
            }
        }
    }

    private static Connection open(ConnectionSettings where, String role) throws SQLException {
        return DriverManager.getConnection(where.jdbcUrl(), where.jdbcProperties("scry-backfill add-table " + role));
    }
}
