package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;

/**
 * A paused table's changes, held back on the shadow ({@code scry_backfill.held_changes}) in the
 * transaction of the batch they came in, after its transforms, encoded as dead letters are
 * ({@link DeadLetterCodec}); taken back in their order when the table resumes. Holding them here,
 * rather than holding the slot, lets the slot and every other table go on: the source keeps no
 * WAL for a paused table, the shadow keeps its changes.
 */
public final class HeldChanges {

    /** What is held for a table: changes and their encoded bytes. */
    public record Held(long changes, long bytes) {
    }

    private final String pipeline;

    public HeldChanges(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Holds changes, in order, in the caller's transaction. */
    void hold(Connection c, List<ChangeEvent> changes, Lsn lsn) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.held_changes (pipeline, schema_name, table_name, lsn, change) VALUES (?, ?, ?, ?::pg_lsn, ?)""")) {
            for (ChangeEvent e : changes) {
                ps.setString(1, pipeline);
                ps.setString(2, e.table().schema());
                ps.setString(3, e.table().name());
                ps.setString(4, lsn.toString());
                ps.setBytes(5, DeadLetterCodec.encode(e));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /**
     * Takes the oldest {@code limit} held changes of a table, in order, and deletes them, in the
     * caller's transaction. Rows of one layout share one column list, as the stream's do, so that
     * the applier checks each layout once.
     */
    List<ChangeEvent> take(Connection c, TableId table, int limit) throws SQLException {
        List<ChangeEvent> out = new ArrayList<>();
        Map<List<String>, List<String>> layouts = new HashMap<>();
        long last = -1;
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT id, change FROM scry_backfill.held_changes WHERE pipeline = ? AND schema_name = ? AND table_name = ?
                ORDER BY id LIMIT ?""")) {
            ps.setString(1, pipeline);
            ps.setString(2, table.schema());
            ps.setString(3, table.name());
            ps.setInt(4, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    last = rs.getLong(1);
                    ChangeEvent e = DeadLetterCodec.decode(rs.getBytes(2));
                    out.add(new ChangeEvent(e.table(), e.op(), shared(e.key(), layouts), shared(e.after(), layouts)));
                }
            }
        }
        if (last >= 0) {
            try (PreparedStatement ps = c.prepareStatement("""
                    DELETE FROM scry_backfill.held_changes WHERE pipeline = ? AND schema_name = ? AND table_name = ? AND id <= ?""")) {
                ps.setString(1, pipeline);
                ps.setString(2, table.schema());
                ps.setString(3, table.name());
                ps.setLong(4, last);
                ps.executeUpdate();
            }
        }
        return out;
    }

    private static RowImage shared(RowImage row, Map<List<String>, List<String>> layouts) {
        if (row == null) {
            return null;
        }
        List<String> columns = layouts.computeIfAbsent(row.columns(), k -> k);
        String[] values = new String[row.size()];
        java.util.BitSet unchanged = new java.util.BitSet();
        for (int i = 0; i < values.length; i++) {
            values[i] = row.value(i);
            if (row.isUnchanged(i)) {
                unchanged.set(i);
            }
        }
        return new RowImage(columns, values, unchanged.isEmpty() ? null : unchanged);
    }

    /** What is held per table (for {@code status}); empty without the metadata schema. */
    public Map<TableId, Held> summary(Connection c) throws SQLException {
        Map<TableId, Held> out = new LinkedHashMap<>();
        if (!MetadataSchema.tableExists(c, "held_changes")) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT schema_name, table_name, count(*), coalesce(sum(octet_length(change)), 0) FROM scry_backfill.held_changes
                WHERE pipeline = ? GROUP BY 1, 2 ORDER BY 1, 2""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(new TableId(rs.getString(1), rs.getString(2)), new Held(rs.getLong(3), rs.getLong(4)));
                }
            }
        }
        return out;
    }
}
