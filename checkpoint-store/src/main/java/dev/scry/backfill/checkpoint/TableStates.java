package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.model.TableId;

/**
 * What the pipeline does with each table beyond streaming it, on the shadow: a copy by chunks in
 * progress (how far, of how many rows), a pause (its changes held back, see the sink's
 * {@code HeldChanges}), a removal, and whether the table joined by {@code table add} rather than
 * through {@code tables}. Written by the sink in the transaction of the batch whose control
 * changed it, so it is always what the checkpoint says. A table without a row here streams.
 */
public final class TableStates {

    private static final ObjectMapper JSON = new ObjectMapper();

    public enum State {
        STREAMING, COPYING, PAUSED, REMOVED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One table's state.
     *
     * @param added        whether it joined by {@code table add} (it stays in the pipeline without being in {@code tables})
     * @param copyMode     for a copy: {@code add}, {@code resnapshot} or {@code repair}
     * @param cursor       for a copy of key ranges: the last key copied (its columns' text), or null before the first chunk
     * @param copyRows     rows copied so far
     * @param copyEstimate the table's estimated rows when the copy began, or null
     */
    public record Entry(TableId table, State state, boolean added, String copyMode, List<String> cursor, long copyRows, Long copyEstimate,
                        Instant since) {
    }

    static final String[] DDL = {
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.table_states (
          pipeline      text NOT NULL,
          schema_name   text NOT NULL,
          table_name    text NOT NULL,
          state         text NOT NULL CHECK (state IN ('streaming', 'copying', 'paused', 'removed')),
          added         boolean NOT NULL DEFAULT false,
          copy_mode     text,
          copy_cursor   jsonb,
          copy_rows     bigint NOT NULL DEFAULT 0,
          copy_estimate bigint,
          since         timestamptz NOT NULL DEFAULT clock_timestamp(),
          PRIMARY KEY (pipeline, schema_name, table_name)
        )""",
    };

    private final String pipeline;

    public TableStates(String pipeline) {
        this.pipeline = pipeline;
    }

    /** A copy by chunks begins (or, with {@code continued}, goes on after a restart). In the caller's transaction. */
    public void copyStarted(Connection c, TableId table, String mode, Long estimate, boolean continued) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.table_states AS s (pipeline, schema_name, table_name, state, added, copy_mode, copy_estimate)
                VALUES (?, ?, ?, 'copying', ?, ?, ?)
                ON CONFLICT (pipeline, schema_name, table_name) DO UPDATE SET state = 'copying', copy_mode = EXCLUDED.copy_mode,
                  added = s.added OR EXCLUDED.added, copy_estimate = EXCLUDED.copy_estimate,
                  copy_cursor = CASE WHEN ? THEN s.copy_cursor END, copy_rows = CASE WHEN ? THEN s.copy_rows ELSE 0 END,
                  since = CASE WHEN ? THEN s.since ELSE clock_timestamp() END""")) {
            int i = key(ps, table);
            ps.setBoolean(i++, mode.equals("add"));
            ps.setString(i++, mode);
            ps.setObject(i++, estimate, java.sql.Types.BIGINT);
            ps.setBoolean(i++, continued);
            ps.setBoolean(i++, continued);
            ps.setBoolean(i, continued);
            ps.executeUpdate();
        }
    }

    /** A chunk's rows are in; {@code cursor} is the last key of a range copy (null for a copy of keys). */
    public void chunkCopied(Connection c, TableId table, List<String> cursor, long rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE scry_backfill.table_states SET copy_cursor = coalesce(?::jsonb, copy_cursor), copy_rows = copy_rows + ?
                WHERE pipeline = ? AND schema_name = ? AND table_name = ?""")) {
            ps.setString(1, cursor == null ? null : json(cursor));
            ps.setLong(2, rows);
            ps.setString(3, pipeline);
            ps.setString(4, table.schema());
            ps.setString(5, table.name());
            ps.executeUpdate();
        }
    }

    public void copyFinished(Connection c, TableId table) throws SQLException {
        set(c, table, State.STREAMING);
    }

    public void paused(Connection c, TableId table) throws SQLException {
        set(c, table, State.PAUSED);
    }

    public void resumed(Connection c, TableId table) throws SQLException {
        set(c, table, State.STREAMING);
    }

    public void removed(Connection c, TableId table) throws SQLException {
        set(c, table, State.REMOVED);
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE scry_backfill.table_states SET added = false WHERE pipeline = ? AND schema_name = ? AND table_name = ?""")) {
            key(ps, table);
            ps.executeUpdate();
        }
    }

    /** A table that joined by {@code table add} without a copy by chunks (one without a key, copied under a lock): it streams. */
    public void member(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.table_states (pipeline, schema_name, table_name, state, added) VALUES (?, ?, ?, 'streaming', true)
                ON CONFLICT (pipeline, schema_name, table_name) DO UPDATE SET state = 'streaming', added = true, since = clock_timestamp()""")) {
            key(ps, table);
            ps.executeUpdate();
        }
    }

    private void set(Connection c, TableId table, State state) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.table_states AS s (pipeline, schema_name, table_name, state) VALUES (?, ?, ?, ?)
                ON CONFLICT (pipeline, schema_name, table_name) DO UPDATE SET state = EXCLUDED.state, since = clock_timestamp(),
                  copy_mode = CASE WHEN EXCLUDED.state = 'copying' THEN s.copy_mode END,
                  copy_cursor = CASE WHEN EXCLUDED.state = 'copying' THEN s.copy_cursor END""")) {
            int i = key(ps, table);
            ps.setString(i, state.label());
            ps.executeUpdate();
        }
    }

    /** Every table with a state, by table; empty when the metadata schema does not exist yet. */
    public Map<TableId, Entry> read(Connection c) throws SQLException {
        Map<TableId, Entry> out = new LinkedHashMap<>();
        if (!MetadataSchema.tableExists(c, "table_states")) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT schema_name, table_name, state, added, copy_mode, copy_cursor::text, copy_rows, copy_estimate, since
                FROM scry_backfill.table_states WHERE pipeline = ? ORDER BY schema_name, table_name""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    TableId table = new TableId(rs.getString(1), rs.getString(2));
                    String cursor = rs.getString(6);
                    Timestamp since = rs.getTimestamp(9);
                    out.put(table, new Entry(table, State.valueOf(rs.getString(3).toUpperCase(java.util.Locale.ROOT)), rs.getBoolean(4),
                            rs.getString(5), cursor == null ? null : list(cursor), rs.getLong(7), (Long) rs.getObject(8),
                            since == null ? null : since.toInstant()));
                }
            }
        }
        return out;
    }

    private int key(PreparedStatement ps, TableId table) throws SQLException {
        ps.setString(1, pipeline);
        ps.setString(2, table.schema());
        ps.setString(3, table.name());
        return 4;
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        }
        catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static List<String> list(String json) {
        try {
            return JSON.readValue(json, new TypeReference<List<String>>() {
            });
        }
        catch (JsonProcessingException e) {
            throw new IllegalStateException("stored cursor is not valid JSON: " + e.getMessage(), e);
        }
    }
}
