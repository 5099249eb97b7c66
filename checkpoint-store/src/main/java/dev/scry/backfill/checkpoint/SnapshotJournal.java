package dev.scry.backfill.checkpoint;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;

/**
 * What a copy snapshot has done so far, kept on the shadow so that an interrupted one continues
 * where it stopped: the parts it planned (whole tables, page ranges, or ranges of the first key
 * column), which of them are committed and at which source position their rows are, and the
 * primary keys it took off tables while loading them (a key is built once after a table's rows
 * are in, as pg_restore does, which halves the shadow's work; until then its definition waits
 * here, so that a crash in between cannot lose it).
 *
 * <p>A part's rows and its entry's "copied" mark are committed in one shadow transaction, so a
 * part is either entirely on the shadow or not at all.
 */
public final class SnapshotJournal {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotJournal.class);

    /** How a part selects its rows. */
    public enum Kind { WHOLE, PAGES, KEYS }

    /**
     * One planned part.
     *
     * @param from, to  for PAGES the page range, for KEYS the range of the first key column's
     *                  values ({@code from} included, {@code to} excluded); null where open
     * @param columns   the table's columns and types when the part was planned (a continued
     *                  snapshot must read the same shape)
     * @param copiedAt  the source position its rows are at, once committed; else null
     */
    public record Part(int id, TableId table, Kind kind, Long from, Long to, String columns, Lsn copiedAt, long rows) {

        public boolean copied() {
            return copiedAt != null;
        }
    }

    static final String[] DDL = {
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.snapshot_parts (
          pipeline    text NOT NULL,
          part        int NOT NULL,
          schema_name text NOT NULL,
          table_name  text NOT NULL,
          kind        text NOT NULL CHECK (kind IN ('whole', 'pages', 'keys')),
          range_from  bigint,
          range_to    bigint,
          columns     text NOT NULL,
          copied_at   pg_lsn,
          rows        bigint NOT NULL DEFAULT 0,
          PRIMARY KEY (pipeline, part)
        )""",
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.deferred_keys (
          pipeline        text NOT NULL,
          schema_name     text NOT NULL,
          table_name      text NOT NULL,
          constraint_name text NOT NULL,
          key_columns     text[] NOT NULL,
          definition      text NOT NULL,
          PRIMARY KEY (pipeline, schema_name, table_name)
        )""",
    };

    private final String pipeline;

    public SnapshotJournal(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Replaces the plan with {@code parts} (none copied yet). In the caller's transaction. */
    public void plan(Connection c, List<Part> parts) throws SQLException {
        clear(c);
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.snapshot_parts (pipeline, part, schema_name, table_name, kind, range_from, range_to, columns)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)""")) {
            for (Part p : parts) {
                ps.setString(1, pipeline);
                ps.setInt(2, p.id());
                ps.setString(3, p.table().schema());
                ps.setString(4, p.table().name());
                ps.setString(5, p.kind().name().toLowerCase(java.util.Locale.ROOT));
                ps.setObject(6, p.from(), java.sql.Types.BIGINT);
                ps.setObject(7, p.to(), java.sql.Types.BIGINT);
                ps.setString(8, p.columns());
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** The plan, in part order; empty when there is none (or no metadata schema yet). */
    public List<Part> parts(Connection c) throws SQLException {
        List<Part> out = new ArrayList<>();
        if (!CheckpointStore.tableExists(c, "snapshot_parts")) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT part, schema_name, table_name, kind, range_from, range_to, columns, copied_at::text, rows
                FROM scry_backfill.snapshot_parts WHERE pipeline = ? ORDER BY part""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String at = rs.getString(8);
                    out.add(new Part(rs.getInt(1), new TableId(rs.getString(2), rs.getString(3)),
                            Kind.valueOf(rs.getString(4).toUpperCase(java.util.Locale.ROOT)), (Long) rs.getObject(5),
                            (Long) rs.getObject(6), rs.getString(7), at == null ? null : Lsn.parse(at), rs.getLong(9)));
                }
            }
        }
        return out;
    }

    /** Marks a part's rows committed, at the source position they were read at. In the caller's transaction. */
    public void copied(Connection c, int part, Lsn at, long rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE scry_backfill.snapshot_parts SET copied_at = ?::pg_lsn, rows = ? WHERE pipeline = ? AND part = ?")) {
            ps.setString(1, at.toString());
            ps.setLong(2, rows);
            ps.setString(3, pipeline);
            ps.setInt(4, part);
            ps.executeUpdate();
        }
    }

    /** Marks every part of a table not copied (its rows were removed to copy it again). In the caller's transaction. */
    public void uncopied(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE scry_backfill.snapshot_parts SET copied_at = NULL, rows = 0
                WHERE pipeline = ? AND schema_name = ? AND table_name = ?""")) {
            ps.setString(1, pipeline);
            ps.setString(2, table.schema());
            ps.setString(3, table.name());
            ps.executeUpdate();
        }
    }

    /**
     * Replaces a table's parts by one whole part copied at {@code at} ({@code table resnapshot}).
     * In the caller's transaction, the one that wrote the rows.
     */
    public void recopied(Connection c, TableId table, String columns, Lsn at, long rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                DELETE FROM scry_backfill.snapshot_parts WHERE pipeline = ? AND schema_name = ? AND table_name = ?""")) {
            ps.setString(1, pipeline);
            ps.setString(2, table.schema());
            ps.setString(3, table.name());
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.snapshot_parts (pipeline, part, schema_name, table_name, kind, columns, copied_at, rows)
                SELECT ?, coalesce(max(part), 0) + 1, ?, ?, 'whole', ?, ?::pg_lsn, ?
                FROM scry_backfill.snapshot_parts WHERE pipeline = ?""")) {
            ps.setString(1, pipeline);
            ps.setString(2, table.schema());
            ps.setString(3, table.name());
            ps.setString(4, columns);
            ps.setString(5, at.toString());
            ps.setLong(6, rows);
            ps.setString(7, pipeline);
            ps.executeUpdate();
        }
    }

    public void clear(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill.snapshot_parts WHERE pipeline = ?")) {
            ps.setString(1, pipeline);
            ps.executeUpdate();
        }
    }

    /**
     * Takes the primary key off an empty shadow table for the load, recording how to put it back,
     * where that is safe: the key is the table's only index and nothing refers to it (no foreign
     * key, replica identity or clustering on it). Returns whether it did. In the caller's transaction.
     */
    public boolean deferPrimaryKey(Connection c, TableId table) throws SQLException {
        String constraint;
        String definition;
        List<String> columns = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT k.conname, pg_get_constraintdef(k.oid), t.relkind = 'r'
                   AND (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.oid) = 1
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = t.oid)
                   AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND (i.indisreplident OR i.indisclustered))
                   AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhparent = t.oid OR h.inhrelid = t.oid),
                   ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = u.attnum ORDER BY u.ord)::text[]
                FROM pg_class t JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'p'
                WHERE t.oid = ?::regclass""")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(3)) {
                    return false;
                }
                constraint = rs.getString(1);
                definition = rs.getString(2);
                for (String col : (String[]) rs.getArray(4).getArray()) {
                    columns.add(col);
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.deferred_keys (pipeline, schema_name, table_name, constraint_name, key_columns, definition)
                VALUES (?, ?, ?, ?, ?, ?)""")) {
            ps.setString(1, pipeline);
            ps.setString(2, table.schema());
            ps.setString(3, table.name());
            ps.setString(4, constraint);
            Array array = c.createArrayOf("text", columns.toArray());
            ps.setArray(5, array);
            ps.setString(6, definition);
            ps.executeUpdate();
        }
        try (Statement st = c.createStatement()) {
            st.execute("ALTER TABLE " + table.quoted() + " DROP CONSTRAINT " + Identifiers.quote(constraint));
        }
        return true;
    }

    /** The key columns of a primary key taken off the table for its load, if it was. */
    public static Optional<List<String>> deferredKey(Connection c, TableId table) throws SQLException {
        if (!CheckpointStore.tableExists(c, "deferred_keys")) {
            return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT key_columns FROM scry_backfill.deferred_keys WHERE schema_name = ? AND table_name = ? LIMIT 1""")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(List.of((String[]) rs.getArray(1).getArray())) : Optional.empty();
            }
        }
    }

    /**
     * Builds the table's deferred primary key again, if there is one, and forgets the record:
     * once its rows are in. In the caller's transaction. Returns whether there was one.
     */
    public boolean restorePrimaryKey(Connection c, TableId table) throws SQLException {
        String constraint;
        String definition;
        try (PreparedStatement ps = c.prepareStatement("""
                DELETE FROM scry_backfill.deferred_keys WHERE pipeline = ? AND schema_name = ? AND table_name = ?
                RETURNING constraint_name, definition""")) {
            ps.setString(1, pipeline);
            ps.setString(2, table.schema());
            ps.setString(3, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
                constraint = rs.getString(1);
                definition = rs.getString(2);
            }
        }
        try (Statement st = c.createStatement()) {
            // Sorting the keys in memory rather than on disk is most of an index build's speed.
            st.execute("SET LOCAL maintenance_work_mem = '256MB'");
            st.execute("ALTER TABLE " + table.quoted() + " ADD CONSTRAINT " + Identifiers.quote(constraint) + " " + definition);
        }
        return true;
    }

    /** Puts back every deferred key of this pipeline (teardown: the shadow tables keep their keys). Commits on its own. */
    public void restoreAll(Connection c) throws SQLException {
        if (!CheckpointStore.tableExists(c, "deferred_keys")) {
            return;
        }
        List<TableId> tables = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT schema_name, table_name FROM scry_backfill.deferred_keys WHERE pipeline = ?")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            for (TableId table : tables) {
                restorePrimaryKey(c, table);
                c.commit();
                LOG.info("put back the primary key of shadow table {}, taken off for the interrupted snapshot's load", table);
            }
        }
        catch (SQLException e) {
            c.rollback();
            throw e;
        }
        finally {
            c.setAutoCommit(auto);
        }
    }

}
