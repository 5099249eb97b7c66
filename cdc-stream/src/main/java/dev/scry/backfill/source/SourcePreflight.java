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
     * and publishes updates"), so such a table is refused before it is published. A partitioned
     * table needs it on every leaf partition, where the rows live and each change is logged, and
     * on itself: the publication sends each change as the partitioned table's
     * ({@code publish_via_partition_root}), and pgoutput marks an old row by that table's identity,
     * so under DEFAULT the whole old row a FULL partition logged arrives as a key without key
     * columns, which nothing can apply. One problem per configured table, naming every statement
     * that fixes it.
     */
    private void checkIdentity(SourceCatalog catalog, TableId table, SourceCatalog.Relation relation, List<String> problems)
            throws SQLException {
        List<SourceCatalog.Identity> unusable = unusableIdentities(catalog, relation);
        if (unusable.isEmpty()) {
            return;
        }
        String fix = "Add a primary key" + (relation.kind() == 'p' ? " to " + table : "") + ", or make each change log the whole"
                + " old row: " + fullIdentity(unusable) + " then run again";
        if (relation.kind() != 'p') {
            problems.add("table " + table + " " + why(unusable.get(0)) + ": once published, UPDATE and DELETE on it would fail on"
                    + " the source. " + fix);
            return;
        }
        List<String> names = unusable.stream().map(i -> i.relation().equals(table) ? table + " itself" : i.relation().toString())
                .toList();
        problems.add("partitioned table " + table + " has no usable replica identity on " + String.join(", ", names)
                + ": the partitions' rows are changed by their whole old row, which each partition must log and the partitioned"
                + " table must publish (its changes are published as the partitioned table's). " + fix
                + "; partitions attached later need the same");
    }

    /**
     * The statements that give {@code table} (and, for a partitioned table, each partition) a
     * replica identity the pipeline can follow: empty when it has one.
     */
    public List<String> identityFixes(TableId table) throws SQLException {
        SourceCatalog catalog = new SourceCatalog(connection);
        Optional<SourceCatalog.Relation> relation = catalog.relation(table);
        if (relation.isEmpty()) {
            return List.of();
        }
        List<SourceCatalog.Identity> unusable = unusableIdentities(catalog, relation.get());
        return unusable.isEmpty() ? List.of() : List.of(fullIdentity(unusable));
    }

    /** The table itself (a partitioned one too), then each leaf partition, whose identity would not do. */
    private static List<SourceCatalog.Identity> unusableIdentities(SourceCatalog catalog, SourceCatalog.Relation relation)
            throws SQLException {
        return catalog.identities(relation).stream().filter(i -> !i.usable()).toList();
    }

    private static String fullIdentity(List<SourceCatalog.Identity> identities) {
        return String.join(" ", identities.stream().map(i -> "ALTER TABLE " + i.relation().quoted() + " REPLICA IDENTITY FULL;")
                .toList());
    }

    private static String why(SourceCatalog.Identity identity) {
        return identity.replicaIdentity() == 'n' ? "has REPLICA IDENTITY NOTHING"
                : identity.replicaIdentity() == 'i' ? "has a replica identity index that no longer exists"
                : "has no primary key";
    }

    private String scalar(String sql) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }
}
