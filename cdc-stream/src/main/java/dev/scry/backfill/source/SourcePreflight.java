package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * Checks, before anything is created or written, that the source can feed the pipeline: logical
 * WAL, a role allowed to replicate, and tables that exist, can be read, have a primary key and
 * hold only types carried exactly. Each refusal is a {@link SetupException} naming the fix.
 */
public final class SourcePreflight {

    private final Connection connection;
    private final String where;

    /** @param where how to name the source in messages, e.g. {@code postgres@127.0.0.1:54320/app} */
    public SourcePreflight(Connection connection, String where) {
        this.connection = connection;
        this.where = where;
    }

    /** Runs every check; returns the shape of each configured table, in configuration order. */
    public Map<TableId, TableSpec> check(List<TableId> tables) throws SQLException {
        checkWalLevel();
        checkReplicationRole();
        SourceCatalog catalog = new SourceCatalog(connection);
        Map<TableId, TableSpec> specs = new LinkedHashMap<>();
        for (TableId table : tables) {
            specs.put(table, checkTable(catalog, table));
        }
        return specs;
    }

    private void checkWalLevel() throws SQLException {
        String level = scalar("SHOW wal_level");
        if (!"logical".equals(level)) {
            throw new SetupException("source wal_level is '" + level + "' on " + where
                    + "; set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart the server");
        }
    }

    private void checkReplicationRole() throws SQLException {
        String sql = "SELECT rolreplication OR rolsuper, current_user FROM pg_roles WHERE rolname = current_user";
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            if (rs.next() && !rs.getBoolean(1)) {
                String user = rs.getString(2);
                throw new SetupException("source user " + user + " lacks the REPLICATION attribute; run ALTER ROLE "
                        + user + " REPLICATION as a superuser, or connect as a role that has it");
            }
        }
    }

    private TableSpec checkTable(SourceCatalog catalog, TableId table) throws SQLException {
        Optional<SourceCatalog.Relation> found = catalog.relation(table);
        if (found.isEmpty()) {
            throw new SetupException("table " + table + " does not exist on the source " + where
                    + "; check the name in `tables` (quote names with capitals or spaces: '\"My Table\"')");
        }
        SourceCatalog.Relation relation = found.get();
        if (relation.kind() == 'p') {
            throw new SetupException("table " + table + " is partitioned; partitioned tables are not supported yet"
                    + ", list its partitions in `tables` instead");
        }
        if (relation.kind() != 'r') {
            throw new SetupException(table + " on the source is not an ordinary table (relkind '" + relation.kind()
                    + "'); only tables can be replicated, remove it from `tables`");
        }
        if (!relation.selectable()) {
            throw new SetupException("source user cannot read table " + table + "; GRANT SELECT ON " + table.quoted()
                    + " TO the pipeline's user");
        }
        SourceCatalog.Description description = catalog.describe(table, relation);
        TableSpec spec = description.spec();
        if (!spec.hasPrimaryKey()) {
            // Publishing it would also make UPDATE and DELETE on the source fail unless it has a
            // replica identity; either way the shadow could not find the rows to change.
            throw new SetupException("table " + table + " has no primary key; add one on the source, or remove the table"
                    + " from `tables` (tables without a primary key are not supported yet)");
        }
        if (!description.generatedColumns().isEmpty()) {
            throw new SetupException("table " + table + " has generated column " + description.generatedColumns().get(0).name()
                    + ", which logical replication does not send; remove the table from `tables` (not supported yet)");
        }
        for (ColumnSpec column : spec.columns()) {
            Optional<String> why = SupportedTypes.whyUnsupported(column);
            if (why.isPresent()) {
                throw new SetupException("table " + table + " column " + column.name() + ": " + why.get()
                        + "; remove the table from `tables` until its type is supported");
            }
        }
        return spec;
    }

    private String scalar(String sql) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }
}
