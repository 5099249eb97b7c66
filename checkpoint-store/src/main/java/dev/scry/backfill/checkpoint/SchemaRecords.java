package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * What the shadow records about following the source's schema: the last drift check's outcome
 * (for {@code status} and the metrics), and a captured schema change the shadow could not apply,
 * which stopped the pipeline (so that {@code resume} knows that change is now the operator's, run
 * by hand on the shadow, and goes on after it).
 */
public final class SchemaRecords {

    static final String[] DDL = {
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.schema_drift (
          pipeline    text PRIMARY KEY,
          differences int NOT NULL,
          applied     int NOT NULL,
          report      text NOT NULL,
          checked_at  timestamptz NOT NULL DEFAULT clock_timestamp()
        )""",
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.ddl_stops (
          pipeline   text PRIMARY KEY,
          lsn        pg_lsn NOT NULL,
          statement  text NOT NULL,
          error      text NOT NULL,
          stopped_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )""",
    };

    /** The last drift check: how many objects differ, how many it made the source's, and the list of what is left. */
    public record Drift(int differences, int applied, String report, java.time.OffsetDateTime checkedAt) {
    }

    /** A captured schema change that stopped the pipeline. */
    public record Stop(String lsn, String statement, String error) {
    }

    private final String pipeline;

    public SchemaRecords(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Records a drift check's outcome, committed on its own ({@code c} in auto-commit or not). */
    public void writeDrift(Connection c, int differences, int applied, String report) throws SQLException {
        ensure(c);
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.schema_drift AS d (pipeline, differences, applied, report) VALUES (?, ?, ?, ?)
                ON CONFLICT (pipeline) DO UPDATE SET differences = EXCLUDED.differences, applied = EXCLUDED.applied,
                  report = EXCLUDED.report, checked_at = clock_timestamp()""")) {
            ps.setString(1, pipeline);
            ps.setInt(2, differences);
            ps.setInt(3, applied);
            ps.setString(4, report);
            ps.executeUpdate();
        }
        commitIfOpen(c);
    }

    public Optional<Drift> readDrift(Connection c) throws SQLException {
        if (!MetadataSchema.tableExists(c, "schema_drift")) {
            return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT differences, applied, report, checked_at FROM scry_backfill.schema_drift WHERE pipeline = ?")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Drift(rs.getInt(1), rs.getInt(2), rs.getString(3),
                        rs.getObject(4, java.time.OffsetDateTime.class))) : Optional.empty();
            }
        }
    }

    /** Records the change that stopped the pipeline, committed on its own (its batch was rolled back). */
    public void recordStop(Connection c, String lsn, String statement, String error) throws SQLException {
        ensure(c);
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.ddl_stops (pipeline, lsn, statement, error) VALUES (?, ?::pg_lsn, ?, ?)
                ON CONFLICT (pipeline) DO UPDATE SET lsn = EXCLUDED.lsn, statement = EXCLUDED.statement, error = EXCLUDED.error,
                  stopped_at = clock_timestamp()""")) {
            ps.setString(1, pipeline);
            ps.setString(2, lsn);
            ps.setString(3, statement);
            ps.setString(4, error);
            ps.executeUpdate();
        }
        commitIfOpen(c);
    }

    public Optional<Stop> readStop(Connection c) throws SQLException {
        if (!MetadataSchema.tableExists(c, "ddl_stops")) {
            return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT lsn::text, statement, error FROM scry_backfill.ddl_stops WHERE pipeline = ?")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Stop(rs.getString(1), rs.getString(2), rs.getString(3))) : Optional.empty();
            }
        }
    }

    /**
     * Whether the change at {@code lsn} is the one that stopped the pipeline; if so the record is
     * deleted in the caller's transaction (the batch that passes it), so that it counts once.
     */
    public boolean passStop(Connection c, String lsn) throws SQLException {
        if (!MetadataSchema.tableExists(c, "ddl_stops")) {
            return false;
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill.ddl_stops WHERE pipeline = ? AND lsn = ?::pg_lsn")) {
            ps.setString(1, pipeline);
            ps.setString(2, lsn);
            return ps.executeUpdate() > 0;
        }
    }

    private static void ensure(Connection c) throws SQLException {
        try (java.sql.Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS " + MetadataSchema.SCHEMA);
            for (String ddl : DDL) {
                st.execute(ddl);
            }
        }
    }

    private static void commitIfOpen(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            c.commit();
        }
    }
}
