package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The metadata schema on the shadow ({@value #SCHEMA}): its tables' DDL, whether it (or one of
 * its tables) exists, and its teardown. The statements on each table live with the class that owns
 * it: the checkpoint and counts in {@link CheckpointStore}, rates in {@link RateRecords}, the
 * snapshot's parts in {@link SnapshotJournal} and {@link SnapshotClaims}, table states and
 * requests in {@link TableStates} and {@link TableRequests}, schema records in
 * {@link SchemaRecords}; dead letters and held changes are written by the sink.
 */
public final class MetadataSchema {

    /** The metadata schema on the shadow. */
    public static final String SCHEMA = "scry_backfill";

    private static final String[] DDL = {
        "CREATE SCHEMA IF NOT EXISTS " + SCHEMA,
        // What the running pipeline reads from the source: its limits and achieved rates, for status.
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.rates (
          pipeline          text PRIMARY KEY,
          rows_limit        bigint NOT NULL,
          bytes_limit       bigint NOT NULL,
          rows_per_second   double precision NOT NULL,
          bytes_per_second  double precision NOT NULL,
          throttled_seconds double precision NOT NULL,
          updated_at        timestamptz NOT NULL DEFAULT clock_timestamp()
        )""",
        // Changes the shadow rejected while errors.tolerance is all: the change (FlexBuffers, see
        // the sink's DeadLetterCodec), why, and where in the source's WAL it was.
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.dead_letters (
          id          bigserial PRIMARY KEY,
          pipeline    text NOT NULL,
          schema_name text NOT NULL,
          table_name  text NOT NULL,
          op          text NOT NULL,
          lsn         pg_lsn NOT NULL,
          change      bytea NOT NULL,
          error       text NOT NULL,
          created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
        )""",
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.checkpoint (
          pipeline              text PRIMARY KEY,
          slot                  text NOT NULL,
          phase                 text NOT NULL CHECK (phase IN ('snapshot', 'streaming')),
          lsn                   pg_lsn NOT NULL,
          source_offset         jsonb,
          batches               bigint NOT NULL DEFAULT 0,
          snapshot_started_at   timestamptz,
          snapshot_completed_at timestamptz,
          updated_at            timestamptz NOT NULL DEFAULT clock_timestamp()
        )""",
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.table_progress (
          pipeline      text NOT NULL,
          schema_name   text NOT NULL,
          table_name    text NOT NULL,
          snapshot_rows bigint NOT NULL DEFAULT 0,
          inserts       bigint NOT NULL DEFAULT 0,
          updates       bigint NOT NULL DEFAULT 0,
          deletes       bigint NOT NULL DEFAULT 0,
          truncates     bigint NOT NULL DEFAULT 0,
          updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
          PRIMARY KEY (pipeline, schema_name, table_name)
        )""",
    };

    /**
     * Changes of a paused table, held back in the order they came, in the transaction of their
     * batch (the sink's HeldChanges writes and reads them; each change encoded as a dead letter is).
     */
    private static final String HELD_CHANGES = """
            CREATE TABLE IF NOT EXISTS scry_backfill.held_changes (
              id          bigserial PRIMARY KEY,
              pipeline    text NOT NULL,
              schema_name text NOT NULL,
              table_name  text NOT NULL,
              lsn         pg_lsn NOT NULL,
              change      bytea NOT NULL,
              held_at     timestamptz NOT NULL DEFAULT clock_timestamp()
            )""";
    private static final String HELD_CHANGES_INDEX =
            "CREATE INDEX IF NOT EXISTS held_changes_table ON scry_backfill.held_changes (pipeline, schema_name, table_name, id)";

    /** Creates the metadata schema and tables if missing; idempotent, commits on its own. */
    public static void ensure(Connection c) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(true);
        try (Statement st = c.createStatement()) {
            for (String ddl : DDL) {
                st.execute(ddl);
            }
            for (String ddl : SnapshotJournal.DDL) {
                st.execute(ddl);
            }
            for (String ddl : TableStates.DDL) {
                st.execute(ddl);
            }
            for (String ddl : TableRequests.DDL) {
                st.execute(ddl);
            }
            st.execute(HELD_CHANGES);
            st.execute(HELD_CHANGES_INDEX);
            for (String ddl : SchemaRecords.DDL) {
                st.execute(ddl);
            }
        }
        finally {
            c.setAutoCommit(auto);
        }
    }

    /** Whether the metadata schema exists (reads never create it). */
    public static boolean exists(Connection c) throws SQLException {
        return tableExists(c, "checkpoint");
    }

    /** Whether a table of the metadata schema exists: one a later version added may not, yet. */
    public static boolean tableExists(Connection c, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            ps.setString(1, SCHEMA + "." + table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /** Removes this pipeline's rows; drops the schema when no other pipeline uses it. Commits on its own. */
    public static void drop(Connection c, String pipeline) throws SQLException {
        if (!exists(c)) {
            return;
        }
        ensure(c);
        // What an interrupted snapshot's load deferred is built before its record goes.
        new SnapshotJournal(pipeline).buildAll(c);
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            for (String table : new String[] {"checkpoint", "table_progress", "dead_letters", "rates", "snapshot_parts", "snapshot_export", "deferred_ddl",
                "table_states", "table_requests", "held_changes"}) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill." + table + " WHERE pipeline = ?")) {
                    ps.setString(1, pipeline);
                    ps.executeUpdate();
                }
            }
            boolean others;
            try (PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM scry_backfill.checkpoint)");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                others = rs.getBoolean(1);
            }
            if (!others) {
                try (Statement st = c.createStatement()) {
                    st.execute("DROP SCHEMA scry_backfill CASCADE");
                }
            }
            c.commit();
        }
        catch (SQLException e) {
            c.rollback();
            throw e;
        }
        finally {
            c.setAutoCommit(auto);
        }
    }

    private MetadataSchema() {
    }
}
