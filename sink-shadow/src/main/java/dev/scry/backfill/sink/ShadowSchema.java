package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * Checks that each existing shadow table can hold its source table's rows (columns, types, a
 * key over the columns the source keys its changes by) and refuses, naming the fix, those that
 * cannot; reads the shadow tables as they are for the sink; follows the column changes the
 * stream brings. The rest of the shadow's schema comes from {@link dev.scry.backfill.sink.schema.SchemaSync};
 * {@link #ensureTables} creates bare tables where there is no source catalog to read (the sink's tests).
 */
public final class ShadowSchema {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowSchema.class);

    private static final String COLUMNS_SQL = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity = 'a'
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""";

    // Unique indexes over plain columns, the primary key first: any of them can key the sink's rows.
    private static final String KEYS_SQL = """
            SELECT i.indisprimary,
                   ARRAY(SELECT a.attname FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord)::text[]
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relname = ? AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
            ORDER BY NOT i.indisprimary, i.indexrelid""";

    private ShadowSchema() {
    }

    /** What {@link #ensureTables} found or did per table. */
    public enum Outcome { CREATED, MATCHES }

    /**
     * Refuses, without writing anything, existing shadow tables that could not hold the source's
     * rows. With {@code following} (a pipeline already streaming), columns may differ from the
     * source's catalog: the stream brings the schema changes the shadow has not reached yet.
     */
    public static void check(Connection c, Iterable<TableSpec> specs, boolean following) throws SQLException {
        for (TableSpec spec : specs) {
            List<ColumnSpec> existing = columns(c, spec.id());
            if (!existing.isEmpty()) {
                checkCompatible(spec, existing, keys(c, spec.id()), following);
            }
        }
    }

    /**
     * Checks every table first and creates the missing ones only if all existing ones match, so a
     * mismatch stops the run with nothing written. Commits on its own.
     */
    public static Map<TableId, Outcome> ensureTables(Connection c, Iterable<TableSpec> specs, boolean following) throws SQLException {
        Map<TableId, Outcome> outcome = new LinkedHashMap<>();
        List<TableSpec> missing = new ArrayList<>();
        for (TableSpec spec : specs) {
            List<ColumnSpec> existing = columns(c, spec.id());
            if (existing.isEmpty()) {
                missing.add(spec);
                outcome.put(spec.id(), Outcome.CREATED);
            }
            else {
                checkCompatible(spec, existing, keys(c, spec.id()), following);
                outcome.put(spec.id(), Outcome.MATCHES);
            }
        }
        if (missing.isEmpty()) {
            return outcome;
        }
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            for (TableSpec spec : missing) {
                st.execute("CREATE SCHEMA IF NOT EXISTS " + Identifiers.quote(spec.id().schema()));
                try {
                    st.execute(createTable(spec));
                }
                catch (SQLException e) {
                    throw new SetupException("cannot create shadow table " + spec.id() + ": " + SqlErrors.describe(e)
                            + ("42704".equals(e.getSQLState())
                                    ? "; create that type on the shadow the way the source defines it, then run again"
                                    : ""), e);
                }
                LOG.info("created shadow table {} ({} columns)", spec.id(), spec.columns().size());
            }
            c.commit();
        }
        catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        }
        finally {
            c.setAutoCommit(auto);
        }
        return outcome;
    }

    static String createTable(TableSpec spec) {
        StringBuilder sql = new StringBuilder("CREATE TABLE ").append(spec.id().quoted()).append(" (");
        for (int i = 0; i < spec.columns().size(); i++) {
            ColumnSpec col = spec.columns().get(i);
            sql.append(i == 0 ? "" : ", ").append(Identifiers.quote(col.name())).append(' ').append(col.type());
            if (col.notNull()) {
                sql.append(" NOT NULL");
            }
        }
        if (spec.hasPrimaryKey()) {
            sql.append(", PRIMARY KEY (");
            for (int i = 0; i < spec.primaryKey().size(); i++) {
                sql.append(i == 0 ? "" : ", ").append(Identifiers.quote(spec.primaryKey().get(i)));
            }
            sql.append(")");
        }
        return sql.append(")").toString();
    }

    /**
     * The shadow table as it is now, with the source's key: what the sink writes to. While
     * streaming, the shadow's columns are the record of the schema changes applied so far, which
     * may trail the source's catalog until the stream reaches its latest changes.
     */
    public static TableSpec current(Connection c, TableSpec source) throws SQLException {
        List<ColumnSpec> columns = columns(c, source.id());
        if (columns.isEmpty()) {
            throw new SetupException("shadow table " + source.id() + " does not exist");
        }
        return new TableSpec(source.id(), columns, source.primaryKey());
    }

    /** The shadow table with its own primary key (empty without one), or empty when the table is missing. */
    public static java.util.Optional<TableSpec> describe(Connection c, TableId table) throws SQLException {
        List<ColumnSpec> columns = columns(c, table);
        if (columns.isEmpty()) {
            return java.util.Optional.empty();
        }
        Keys keys = keys(c, table);
        return java.util.Optional.of(new TableSpec(table, columns, keys.primary() ? keys.unique().get(0) : List.of()));
    }

    /**
     * Adds a column the source gained. Rows that existed before a source ADD COLUMN ... DEFAULT
     * read the default without holding it (no change carries it), so the shadow's existing rows
     * get {@code missingValue} the same way; later rows always arrive with the column.
     */
    static void addColumn(Connection c, TableId table, ColumnSpec column, String missingValue) throws SQLException {
        String name = Identifiers.quote(column.name());
        try (Statement st = c.createStatement()) {
            StringBuilder sql = new StringBuilder("ALTER TABLE ").append(table.quoted()).append(" ADD COLUMN ").append(name).append(' ')
                    .append(column.type());
            if (missingValue != null) {
                sql.append(" DEFAULT CAST(").append(Identifiers.literal(missingValue)).append(" AS ").append(column.type()).append(')');
            }
            if (column.notNull() && missingValue != null) {
                sql.append(" NOT NULL");
            }
            st.execute(sql.toString());
            if (missingValue != null) {
                st.execute("ALTER TABLE " + table.quoted() + " ALTER COLUMN " + name + " DROP DEFAULT");
            }
        }
    }

    static void dropColumn(Connection c, TableId table, String column) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("ALTER TABLE " + table.quoted() + " DROP COLUMN " + Identifiers.quote(column));
        }
    }

    /** Only for widening changes (see {@link TypeWidening}): the default conversion keeps every value. */
    static void alterType(Connection c, TableId table, String column, String type) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("ALTER TABLE " + table.quoted() + " ALTER COLUMN " + Identifiers.quote(column) + " TYPE " + type);
        }
    }

    private static void checkCompatible(TableSpec spec, List<ColumnSpec> existing, Keys keys, boolean following) {
        if (!spec.hasPrimaryKey() && keys.primary()) {
            throw new SetupException("shadow table " + spec.id() + " has primary key " + keys.unique().get(0) + " but the source's"
                    + " table has none (REPLICA IDENTITY FULL); drop the shadow table's key or the table so it is recreated");
        }
        if (spec.hasPrimaryKey() && keys.unique().stream().noneMatch(k -> new java.util.HashSet<>(k).equals(new java.util.HashSet<>(spec.primaryKey())))) {
            throw new SetupException("shadow table " + spec.id() + " has " + (keys.unique().isEmpty() ? "no primary key"
                    : "keys " + keys.unique()) + " but the source keys its rows by " + spec.primaryKey()
                    + "; give the shadow table a primary key (or unique index) on those columns or drop it so it is recreated");
        }
        if (following) {
            if (!existing.stream().map(ColumnSpec::type).toList().equals(spec.columns().stream().map(ColumnSpec::type).toList())
                    || !existing.stream().map(ColumnSpec::name).toList().equals(spec.columns().stream().map(ColumnSpec::name).toList())) {
                LOG.info("shadow table {} differs from the source's current columns; the stream brings the schema changes"
                        + " in between", spec.id());
            }
            return;
        }
        Map<String, ColumnSpec> byName = new LinkedHashMap<>();
        for (ColumnSpec col : existing) {
            byName.put(col.name(), col);
        }
        for (ColumnSpec col : spec.columns()) {
            ColumnSpec shadow = byName.remove(col.name());
            if (shadow == null) {
                throw new SetupException("shadow table " + spec.id() + " has no column " + col.name() + " (" + col.type()
                        + " on the source); add it to the shadow table or drop the shadow table so it is recreated");
            }
            if (!shadow.type().equals(col.type())) {
                throw new SetupException("shadow table " + spec.id() + " column " + col.name() + " is " + shadow.type()
                        + " but the source's is " + col.type() + "; alter the shadow column to " + col.type()
                        + " or drop the shadow table so it is recreated");
            }
        }
        for (ColumnSpec extra : byName.values()) {
            if (extra.notNull()) {
                throw new SetupException("shadow table " + spec.id() + " has a NOT NULL column " + extra.name()
                        + " that the source lacks; drop that column or its NOT NULL constraint on the shadow");
            }
        }
    }

    private static List<ColumnSpec> columns(Connection c, TableId table) throws SQLException {
        List<ColumnSpec> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(COLUMNS_SQL)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    // The shadow side only needs name, declared type, nullability and identity.
                    out.add(new ColumnSpec(rs.getString(1), rs.getString(2), rs.getBoolean(3), rs.getString(2), false, rs.getBoolean(4)));
                }
            }
        }
        return out;
    }

    /**
     * The shadow table's keys: whether it has a primary key, and the columns of each unique index
     * over plain columns, the primary key first. Keys the snapshot builds after the load (still in
     * its journal) count as the table's.
     */
    private record Keys(boolean primary, List<List<String>> unique) {
    }

    private static Keys keys(Connection c, TableId table) throws SQLException {
        List<List<String>> unique = new ArrayList<>();
        boolean primary = false;
        java.util.Optional<List<String>> deferredPrimary = dev.scry.backfill.checkpoint.SnapshotJournal.deferredPrimaryKey(c, table);
        if (deferredPrimary.isPresent()) {
            primary = true;
        }
        unique.addAll(dev.scry.backfill.checkpoint.SnapshotJournal.deferredKeys(c, table));
        try (PreparedStatement ps = c.prepareStatement(KEYS_SQL)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    List<String> columns = List.of((String[]) rs.getArray(2).getArray());
                    if (rs.getBoolean(1)) {
                        primary = true;
                        unique.add(0, columns);
                    }
                    else {
                        unique.add(columns);
                    }
                }
            }
        }
        return new Keys(primary, unique);
    }

    /**
     * The statement that empties a shadow table: TRUNCATE, or DELETE where another table's foreign
     * key references it (TRUNCATE refuses that; DELETE does not check it in the replica role the
     * pipeline's sessions run in).
     */
    public static String emptying(Connection c, TableId table) throws SQLException {
        try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f'"
                + " AND confrelid = ?::regclass AND conrelid <> confrelid)")) {
            ps.setString(1, table.quoted());
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                return (rs.next() && rs.getBoolean(1) ? "DELETE FROM " : "TRUNCATE ") + table.quoted();
            }
        }
    }
}
