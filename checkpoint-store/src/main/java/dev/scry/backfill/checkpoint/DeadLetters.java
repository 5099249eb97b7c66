package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;

/**
 * The pipeline's dead letters in the metadata schema ({@code scry_backfill.dead_letters}); SQL for
 * them lives here only. Each change is stored as the sink encoded it (FlexBuffers, see the sink's
 * DeadLetterCodec): opaque bytes to this module.
 */
public final class DeadLetters {

    /** One stored change the shadow rejected. */
    public record Letter(long id, String table, String op, Lsn lsn, byte[] change, String error, Instant createdAt) {
    }

    private final String pipeline;

    public DeadLetters(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Stores a rejected change, in the caller's transaction. */
    public void add(Connection c, TableId table, String op, Lsn lsn, byte[] change, String error) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.dead_letters (pipeline, schema_name, table_name, op, lsn, change, error)
                VALUES (?, ?, ?, ?, ?::pg_lsn, ?, ?)""")) {
            ps.setString(1, pipeline);
            ps.setString(2, table.schema());
            ps.setString(3, table.name());
            ps.setString(4, op);
            ps.setString(5, lsn.toString());
            ps.setBytes(6, change);
            ps.setString(7, error);
            ps.executeUpdate();
        }
    }

    public List<Letter> list(Connection c) throws SQLException {
        return query(c, "WHERE pipeline = ? ORDER BY id", null);
    }

    public Optional<Letter> get(Connection c, long id) throws SQLException {
        return query(c, "WHERE pipeline = ? AND id = ?", id).stream().findFirst();
    }

    public boolean delete(Connection c, long id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill.dead_letters WHERE pipeline = ? AND id = ?")) {
            ps.setString(1, pipeline);
            ps.setLong(2, id);
            return ps.executeUpdate() == 1;
        }
    }

    public int purge(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill.dead_letters WHERE pipeline = ?")) {
            ps.setString(1, pipeline);
            return ps.executeUpdate();
        }
    }

    private List<Letter> query(Connection c, String where, Long id) throws SQLException {
        List<Letter> out = new ArrayList<>();
        if (!MetadataSchema.exists(c)) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT id, format('%I.%I', schema_name, table_name), op, lsn::text, change, error, created_at
                FROM scry_backfill.dead_letters """ + " " + where)) {
            ps.setString(1, pipeline);
            if (id != null) {
                ps.setLong(2, id);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Letter(rs.getLong(1), rs.getString(2), rs.getString(3), Lsn.parse(rs.getString(4)), rs.getBytes(5),
                            rs.getString(6), rs.getTimestamp(7).toInstant()));
                }
            }
        }
        return out;
    }
}
