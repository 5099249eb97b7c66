package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.model.TableId;

/**
 * How a command reaches the running daemon: {@code table add|remove|pause|resume|resnapshot} and
 * {@code repair} write a request here on the shadow (committed at once), the daemon that streams
 * the pipeline takes the oldest open one, works on it and writes its progress and outcome, and the
 * command waits for that outcome. A request survives both: a daemon that stops takes a request it
 * was working on up again when it starts, and a command that is interrupted leaves it to the daemon.
 */
public final class TableRequests {

    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Action {
        ADD, REMOVE, PAUSE, RESUME, RESNAPSHOT, REPAIR;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public enum State {
        /** Waiting for the daemon. */
        PENDING,
        /** The daemon works on it. */
        RUNNING,
        DONE,
        /** It could not be done (a fault); the message says why. */
        FAILED,
        /** It was refused as asked (the table cannot be copied so, is paused...); the message says how to fix it. */
        REFUSED;

        public boolean finished() {
            return this == DONE || this == FAILED || this == REFUSED;
        }
    }

    /**
     * One request.
     *
     * @param keys     for a repair: the keys to read again, each as its key columns' text
     * @param progress what the daemon last said about it (rows copied of an estimate)
     */
    public record Request(long id, Action action, TableId table, List<List<String>> keys, State state, String message, String progress) {
    }

    static final String[] DDL = {
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.table_requests (
          id           bigserial PRIMARY KEY,
          pipeline     text NOT NULL,
          action       text NOT NULL,
          schema_name  text NOT NULL,
          table_name   text NOT NULL,
          keys         jsonb,
          state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed', 'refused')),
          message      text,
          progress     text,
          requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          finished_at  timestamptz
        )""",
        "CREATE INDEX IF NOT EXISTS table_requests_open ON scry_backfill.table_requests (pipeline, id) WHERE state IN ('pending', 'running')",
    };

    private static final String COLUMNS = "id, action, schema_name, table_name, keys::text, state, message, progress";

    private final String pipeline;

    public TableRequests(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Writes a request (autocommit: the daemon must see it) and returns its id. */
    public long submit(Connection c, Action action, TableId table, List<List<String>> keys) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.table_requests (pipeline, action, schema_name, table_name, keys) VALUES (?, ?, ?, ?, ?::jsonb)
                RETURNING id""")) {
            ps.setString(1, pipeline);
            ps.setString(2, action.label());
            ps.setString(3, table.schema());
            ps.setString(4, table.name());
            ps.setString(5, keys == null ? null : json(keys));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** The oldest request not finished yet (one a stopped daemon was working on comes first). */
    public Optional<Request> next(Connection c) throws SQLException {
        if (!MetadataSchema.tableExists(c, "table_requests")) {
            return Optional.empty();
        }
        return one(c, "WHERE pipeline = ? AND state IN ('pending', 'running') ORDER BY id LIMIT 1", null);
    }

    public Optional<Request> get(Connection c, long id) throws SQLException {
        return one(c, "WHERE pipeline = ? AND id = ?", id);
    }

    /** A request not finished yet, as {@code status} lists it: {@code requestedAt} as the shadow prints a timestamptz. */
    public record Open(long id, Action action, TableId table, State state, String progress, String requestedAt) {
    }

    /** Every request not finished yet, oldest first; none when the table does not exist yet. */
    public List<Open> open(Connection c) throws SQLException {
        List<Open> out = new java.util.ArrayList<>();
        if (!MetadataSchema.tableExists(c, "table_requests")) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT id, action, schema_name, table_name, state, progress, requested_at::text FROM scry_backfill.table_requests
                WHERE pipeline = ? AND state IN ('pending', 'running') ORDER BY id""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Open(rs.getLong(1), Action.valueOf(rs.getString(2).toUpperCase(java.util.Locale.ROOT)),
                            new TableId(rs.getString(3), rs.getString(4)), State.valueOf(rs.getString(5).toUpperCase(java.util.Locale.ROOT)),
                            rs.getString(6), rs.getString(7)));
                }
            }
        }
        return out;
    }

    /** Whether any request is open. */
    public boolean anyOpen(Connection c) throws SQLException {
        return next(c).isPresent();
    }

    public void running(Connection c, long id, String progress) throws SQLException {
        update(c, id, "running", null, progress, false);
    }

    public void finish(Connection c, long id, State state, String message) throws SQLException {
        update(c, id, state.name().toLowerCase(java.util.Locale.ROOT), message, null, true);
    }

    private void update(Connection c, long id, String state, String message, String progress, boolean finished) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE scry_backfill.table_requests SET state = ?, message = coalesce(?, message), progress = coalesce(?, progress),
                  finished_at = CASE WHEN ? THEN clock_timestamp() END
                WHERE pipeline = ? AND id = ?""")) {
            ps.setString(1, state);
            ps.setString(2, message);
            ps.setString(3, progress);
            ps.setBoolean(4, finished);
            ps.setString(5, pipeline);
            ps.setLong(6, id);
            ps.executeUpdate();
        }
    }

    private Optional<Request> one(Connection c, String where, Long id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM scry_backfill.table_requests " + where)) {
            ps.setString(1, pipeline);
            if (id != null) {
                ps.setLong(2, id);
            }
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                String keys = rs.getString(5);
                return Optional.of(new Request(rs.getLong(1), Action.valueOf(rs.getString(2).toUpperCase(java.util.Locale.ROOT)),
                        new TableId(rs.getString(3), rs.getString(4)), keys == null ? null : keys(keys),
                        State.valueOf(rs.getString(6).toUpperCase(java.util.Locale.ROOT)), rs.getString(7), rs.getString(8)));
            }
        }
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        }
        catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static List<List<String>> keys(String json) {
        try {
            return JSON.readValue(json, new TypeReference<List<List<String>>>() {
            });
        }
        catch (JsonProcessingException e) {
            throw new IllegalStateException("stored keys are not valid JSON: " + e.getMessage(), e);
        }
    }
}
