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

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;

/**
 * What a copy snapshot has done so far, kept on the shadow so that an interrupted one continues
 * where it stopped: the parts it planned (whole tables, page ranges, or ranges of the first key
 * column), which of them are committed and at which source position their rows are, and the
 * post-data it defers: keys, indexes, constraints and triggers are built once the rows they need
 * are in, as pg_restore does (a sorted build costs the shadow far less than keeping an index up
 * row by row); until then their statements wait here, so that a crash in between cannot lose them.
 *
 * <p>A part's rows and its entry's "copied" mark are committed in one shadow transaction, so a
 * part is either entirely on the shadow or not at all. Which process copies a part, the
 * coordinating snapshot or a snapshot worker, is decided by claims on these same rows
 * ({@link SnapshotClaims}).
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

    /**
     * A post-data object waiting for its rows.
     *
     * @param key        what it is, unique in the pipeline ({@code INDEX shop.orders_placed_idx})
     * @param order      its place in the plan: dependencies come first
     * @param kind       its kind, as the schema sync names it ({@code primary-key}, {@code index}...)
     * @param table      the table it is on
     * @param needs      the tables whose rows must be in before it is built (as the snapshot copies them)
     * @param dependsOn  keys of deferred objects it needs built first
     * @param keyColumns for a primary key, its columns; empty otherwise
     */
    public record Deferred(String key, int order, String kind, TableId table, List<TableId> needs, List<String> dependsOn,
                           List<String> statements, List<String> keyColumns) {

        public Deferred {
            needs = List.copyOf(needs);
            dependsOn = List.copyOf(dependsOn);
            statements = List.copyOf(statements);
            keyColumns = List.copyOf(keyColumns);
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
        // Post-data the snapshot builds after the rows are in: statements in dependency order
        // (ord), the tables whose rows they need (needs, quoted names) and the objects they
        // need built first (depends_on); a primary key also names its columns (key_columns).
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.deferred_ddl (
          pipeline    text NOT NULL,
          object_key  text NOT NULL,
          ord         int NOT NULL,
          kind        text NOT NULL,
          schema_name text NOT NULL,
          table_name  text NOT NULL,
          needs       text[] NOT NULL,
          depends_on  text[] NOT NULL,
          statements  text[] NOT NULL,
          key_columns text[],
          PRIMARY KEY (pipeline, object_key)
        )""",
        // Who may copy a part: a claim (token, holder, expiry) taken with FOR UPDATE SKIP LOCKED,
        // renewed by heartbeat, and checked again by the statement that marks the part copied, in
        // the rows' transaction; and who did copy it, once it is.
        "ALTER TABLE scry_backfill.snapshot_parts ADD COLUMN IF NOT EXISTS claim_token text",
        "ALTER TABLE scry_backfill.snapshot_parts ADD COLUMN IF NOT EXISTS claimed_by text",
        "ALTER TABLE scry_backfill.snapshot_parts ADD COLUMN IF NOT EXISTS claim_expires timestamptz",
        "ALTER TABLE scry_backfill.snapshot_parts ADD COLUMN IF NOT EXISTS copied_by text",
        // The snapshot the running copy exports, for snapshot workers on other machines to import:
        // one row while a `snapshot` (or the continuation of one) copies, none otherwise.
        """
        CREATE TABLE IF NOT EXISTS scry_backfill.snapshot_export (
          pipeline        text PRIMARY KEY,
          snapshot_name   text NOT NULL,
          at              pg_lsn NOT NULL,
          coordinator     text NOT NULL,
          claim_timeout_ms int NOT NULL,
          published_at    timestamptz NOT NULL DEFAULT now()
        )""",
        // Before deferred_ddl the snapshot deferred primary keys alone; an interrupted snapshot
        // of that version keeps them waiting here.
        """
        DO $$
        BEGIN
          IF to_regclass('scry_backfill.deferred_keys') IS NOT NULL THEN
            INSERT INTO scry_backfill.deferred_ddl
              (pipeline, object_key, ord, kind, schema_name, table_name, needs, depends_on, statements, key_columns)
            SELECT pipeline, 'PRIMARY KEY ' || format('%I.%I.%I', schema_name, table_name, constraint_name), 0, 'primary-key',
                   schema_name, table_name, ARRAY[format('%I.%I', schema_name, table_name)], '{}',
                   ARRAY[format('ALTER TABLE ONLY %I.%I ADD CONSTRAINT %I %s', schema_name, table_name, constraint_name, definition)],
                   key_columns
            FROM scry_backfill.deferred_keys
            ON CONFLICT DO NOTHING;
            DROP TABLE scry_backfill.deferred_keys;
          END IF;
        END $$""",
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
        if (!MetadataSchema.tableExists(c, "snapshot_parts")) {
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
                UPDATE scry_backfill.snapshot_parts SET copied_at = NULL, rows = 0, copied_by = NULL,
                  claim_token = NULL, claimed_by = NULL, claim_expires = NULL
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
     * Records post-data objects (keys, indexes, constraints, triggers...) the snapshot builds once
     * the rows they need are in; an object already recorded stays as it is. In the caller's
     * transaction, which also creates the tables they belong to, so no table is ever left without
     * the record of what it still lacks.
     */
    public void defer(Connection c, List<Deferred> objects) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.deferred_ddl
                  (pipeline, object_key, ord, kind, schema_name, table_name, needs, depends_on, statements, key_columns)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (pipeline, object_key) DO NOTHING""")) {
            for (Deferred d : objects) {
                ps.setString(1, pipeline);
                ps.setString(2, d.key());
                ps.setInt(3, d.order());
                ps.setString(4, d.kind());
                ps.setString(5, d.table().schema());
                ps.setString(6, d.table().name());
                ps.setArray(7, c.createArrayOf("text", d.needs().stream().map(TableId::quoted).toArray()));
                ps.setArray(8, c.createArrayOf("text", d.dependsOn().toArray()));
                ps.setArray(9, c.createArrayOf("text", d.statements().toArray()));
                ps.setArray(10, d.keyColumns().isEmpty() ? null : c.createArrayOf("text", d.keyColumns().toArray()));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    /** The objects still to build, in the order they were planned (dependencies first). */
    public List<Deferred> deferred(Connection c) throws SQLException {
        List<Deferred> out = new ArrayList<>();
        if (!MetadataSchema.tableExists(c, "deferred_ddl")) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT object_key, ord, kind, schema_name, table_name, needs, depends_on, statements, key_columns
                FROM scry_backfill.deferred_ddl WHERE pipeline = ? ORDER BY ord, object_key""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    List<TableId> needs = new ArrayList<>();
                    for (String t : strings(rs.getArray(6))) {
                        needs.add(TableId.parse(t));
                    }
                    out.add(new Deferred(rs.getString(1), rs.getInt(2), rs.getString(3), new TableId(rs.getString(4), rs.getString(5)),
                            needs, strings(rs.getArray(7)), strings(rs.getArray(8)), strings(rs.getArray(9))));
                }
            }
        }
        return out;
    }

    /**
     * Builds one deferred object and forgets its record, in the caller's transaction: committed
     * together, so the object is either built and forgotten or still waiting.
     */
    public void build(Connection c, Deferred object) throws SQLException {
        try (Statement st = c.createStatement()) {
            // Sorting the keys in memory rather than on disk is most of an index build's speed.
            st.execute("SET LOCAL maintenance_work_mem = '256MB'");
            for (String sql : object.statements()) {
                st.execute(sql);
            }
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill.deferred_ddl WHERE pipeline = ? AND object_key = ?")) {
            ps.setString(1, pipeline);
            ps.setString(2, object.key());
            ps.executeUpdate();
        }
    }

    /**
     * The column lists of the keys (the primary key, unique constraints and indexes over plain
     * columns) still waiting to be built on the shadow table, the primary key first: they are the
     * table's all the same (the sink and the shadow checks count them).
     */
    public static List<List<String>> deferredKeys(Connection c, TableId table) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        if (!MetadataSchema.tableExists(c, "deferred_ddl")) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT key_columns FROM scry_backfill.deferred_ddl
                WHERE schema_name = ? AND table_name = ? AND key_columns IS NOT NULL ORDER BY kind <> 'primary-key', ord""")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(strings(rs.getArray(1)));
                }
            }
        }
        return out;
    }

    /** The columns of the table's primary key while it waits to be built, if it does. */
    public static Optional<List<String>> deferredPrimaryKey(Connection c, TableId table) throws SQLException {
        if (!MetadataSchema.tableExists(c, "deferred_ddl")) {
            return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT key_columns FROM scry_backfill.deferred_ddl
                WHERE schema_name = ? AND table_name = ? AND kind = 'primary-key' LIMIT 1""")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(strings(rs.getArray(1))) : Optional.empty();
            }
        }
    }

    /**
     * Builds every object this pipeline still has deferred, in their order, each committed on
     * its own (teardown: no shadow table is left without its keys, indexes and constraints).
     * Commits on its own.
     */
    public void buildAll(Connection c) throws SQLException {
        List<Deferred> objects = deferred(c);
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            for (Deferred object : objects) {
                build(c, object);
                c.commit();
                LOG.info("built {}, deferred by the interrupted snapshot's load", object.key());
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

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : List.of((String[]) array.getArray());
    }

}
