package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiPredicate;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * Checks, before anything is created or written, that the source can feed the pipeline: logical
 * WAL, a role allowed to replicate, and tables that exist, can be read, have a primary key and
 * hold only types carried exactly ({@link SupportedTypes}). Each refusal is a {@link SetupException}
 * naming the fix; the tables' problems come all in one.
 */
public final class SourcePreflight {

    private final Connection connection;
    private final String where;
    private final boolean debeziumReader;

    /** For the pgoutput reader. @param where how to name the source in messages, e.g. {@code postgres@127.0.0.1:54320/app} */
    public SourcePreflight(Connection connection, String where) {
        this(connection, where, false);
    }

    /** @param debeziumReader whether the Debezium engine will read the stream (snapshot.method: debezium), with its limits */
    public SourcePreflight(Connection connection, String where, boolean debeziumReader) {
        this.connection = connection;
        this.where = where;
        this.debeziumReader = debeziumReader;
    }

    /** Runs every check; returns the shape of each configured table, in configuration order. */
    public Map<TableId, TableSpec> check(List<TableId> tables) throws SQLException {
        return check(tables, (table, column) -> false);
    }

    /**
     * Runs every check; returns the shape of each configured table, in configuration order. The
     * source's own readiness is checked first; then every problem of every table is reported in
     * one {@link SetupException}, so that one run tells the operator all there is to fix.
     *
     * @param dropped whether a transform drops a column before it leaves the source: its type
     *                never has to reach the shadow, so it is not checked
     */
    public Map<TableId, TableSpec> check(List<TableId> tables, BiPredicate<TableId, String> dropped) throws SQLException {
        checkWalLevel();
        checkReplicationRole();
        checkServerVersion();
        if (debeziumReader) {
            checkTypeRegistry();
        }
        SourceCatalog catalog = new SourceCatalog(connection);
        Map<TableId, TableSpec> specs = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (TableId table : tables) {
            checkTable(catalog, table, dropped, problems).ifPresent(spec -> specs.put(table, spec));
        }
        if (!problems.isEmpty()) {
            throw SetupException.ofAll("the configured tables cannot be replicated as they are", problems);
        }
        return specs;
    }

    /** The shape of each table, without the replication checks: for reading only (verify). */
    public Map<TableId, TableSpec> describeTables(List<TableId> tables) throws SQLException {
        SourceCatalog catalog = new SourceCatalog(connection);
        Map<TableId, TableSpec> specs = new LinkedHashMap<>();
        for (TableId table : tables) {
            SourceCatalog.Relation relation = catalog.relation(table).orElseThrow(() -> new SetupException("table " + table
                    + " does not exist on the source " + where + "; check the name in `tables`"));
            specs.put(table, catalog.describe(table, relation).spec());
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

    /**
     * PostgreSQL 14 or later: the stream carries the caught-up marker as a logical-decoding
     * message (pgoutput's {@code messages} option), and large tables are cut by TID ranges.
     */
    private void checkServerVersion() throws SQLException {
        int version = Integer.parseInt(scalar("SHOW server_version_num"));
        if (version < 140000) {
            throw new SetupException("source " + where + " runs PostgreSQL " + scalar("SHOW server_version")
                    + "; scry-backfill needs PostgreSQL 14 or later on the source (upgrade the server)");
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

    /**
     * Debezium 3.6.1 loads every type of the database when the connector starts
     * (TypeRegistry.prime) and reads enum labels for every type of category 'E'. A domain over an
     * enum has that category but no labels of its own, and the connector fails with a
     * NullPointerException, whether or not a configured table uses the domain.
     */
    private void checkTypeRegistry() throws SQLException {
        String sql = """
                SELECT t.oid::regtype::text, format_type(t.typbasetype, NULL) FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE t.typtype = 'd' AND t.typcategory = 'E' AND n.nspname <> 'pg_toast'
                ORDER BY 1 LIMIT 1""";
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            if (rs.next()) {
                throw new SetupException("source database has domain " + rs.getString(1) + " over the enum " + rs.getString(2)
                        + ", which the change stream (Debezium 3.6.1) cannot load: its connector fails to start while any domain over"
                        + " an enum exists in the database, used by a configured table or not; drop the domain or redefine it (e.g."
                        + " over text with a CHECK)");
            }
        }
    }

    /** The table's shape when it can be read; adds what stands in its way to {@code problems}. */
    private Optional<TableSpec> checkTable(SourceCatalog catalog, TableId table, BiPredicate<TableId, String> dropped,
                                           List<String> problems) throws SQLException {
        Optional<SourceCatalog.Relation> found = catalog.relation(table);
        if (found.isEmpty()) {
            problems.add("table " + table + " does not exist on the source " + where
                    + "; check the name in `tables` (quote names with capitals or spaces: '\"My Table\"')");
            return Optional.empty();
        }
        for (String part : debeziumReader ? new String[] {table.schema(), table.name()} : new String[0]) {
            if (part.startsWith("\"") || part.endsWith("\"")) {
                // Debezium 3.6.1 quotes a name for its own parser only when it neither starts nor
                // ends with a double quote (TableId.quote), then fails to parse the change events.
                problems.add("table " + table + ": the change stream (Debezium 3.6.1) cannot carry a schema or"
                        + " table name that starts or ends with a double quote; rename it on the source (quotes inside a"
                        + " name are fine) or remove it from `tables`");
            }
        }
        SourceCatalog.Relation relation = found.get();
        if (relation.kind() != 'r' && relation.kind() != 'p') {
            problems.add(table + " on the source is not an ordinary or partitioned table (relkind '" + relation.kind()
                    + "'); only tables can be replicated, remove it from `tables`");
            return Optional.empty();
        }
        if (!relation.selectable()) {
            problems.add("source user cannot read table " + table + "; GRANT SELECT ON " + table.quoted()
                    + " TO the pipeline's user");
        }
        checkIdentity(catalog, table, relation, problems);
        SourceCatalog.Description description = catalog.describe(table, relation);
        TableSpec spec = description.spec();
        for (SourceCatalog.GeneratedColumn generated : description.generatedColumns()) {
            problems.add("table " + table + " has generated column " + generated.name()
                    + ", which logical replication does not send; remove the table from `tables` (not supported yet)");
        }
        for (ColumnSpec column : spec.columns()) {
            if (dropped.test(table, column.name())) {
                continue;
            }
            Optional<String> why = SupportedTypes.whyUnsupported(column, description.heldTypes(column.name()), debeziumReader);
            if (why.isPresent()) {
                problems.add("table " + table + " column " + column.name() + ": " + why.get() + "; leave the column out with a"
                        + " drop-columns transform (" + table + "." + Identifiers.readable(column.name()) + ") or remove the table from"
                        + " `tables`");
            }
        }
        return Optional.of(spec);
    }

    /**
     * A published table whose replica identity names no columns makes every UPDATE and DELETE on
     * it fail on the source ("cannot update table ... because it does not have a replica identity
     * and publishes updates"), so such a table is refused before it is published. For a
     * partitioned table the check applies to each partition, where the rows live.
     */
    private void checkIdentity(SourceCatalog catalog, TableId table, SourceCatalog.Relation relation, List<String> problems)
            throws SQLException {
        List<SourceCatalog.Identity> identities = catalog.identities(relation);
        // The first is the table itself; a partitioned table's own identity governs no rows.
        for (SourceCatalog.Identity identity : relation.kind() == 'p' ? identities.subList(1, identities.size()) : identities) {
            if (!identity.usable()) {
                String what = relation.kind() == 'p' ? "partition " + identity.relation() + " of " + table : "table " + table;
                String why = identity.replicaIdentity() == 'n' ? "has REPLICA IDENTITY NOTHING"
                        : identity.replicaIdentity() == 'i' ? "has a replica identity index that no longer exists"
                        : "has no primary key";
                problems.add(what + " " + why + ": once published, UPDATE and DELETE on it would fail on the source."
                        + " Add a primary key, or run ALTER TABLE " + identity.relation() + " REPLICA IDENTITY FULL"
                        + " (each change then logs the whole old row), then run again");
            }
        }
    }

    private String scalar(String sql) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }
}
