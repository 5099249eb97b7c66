package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.model.TypeParts;

/**
 * Reads table shapes from the source's catalog: columns with their exact declared types
 * ({@code format_type}), nullability, primary key, and what each type is underneath its domains
 * and arrays. Names are bound as parameters, never spliced.
 */
public final class SourceCatalog {

    /** What the catalog says about a relation besides its columns. */
    public record Relation(long oid, char kind, char replicaIdentity, boolean selectable) {
    }

    /** A relation whose writes a publication would carry, and whether its replica identity lets it. */
    public record Identity(TableId relation, char replicaIdentity, boolean hasPrimaryKey, boolean hasIdentityIndex) {

        /** False when publishing the relation would make UPDATE and DELETE on it fail. */
        public boolean usable() {
            return replicaIdentity == 'f' || (replicaIdentity == 'd' && hasPrimaryKey) || (replicaIdentity == 'i' && hasIdentityIndex);
        }
    }

    private static final String RELATION_SQL = """
            SELECT c.oid, c.relkind, c.relreplident, has_table_privilege(c.oid, 'SELECT')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relname = ?""";

    // The base type looks through a domain (typbasetype) and through an array (typelem), in either
    // order: a domain over an array, or an array of a domain.
    private static final String COLUMNS_SQL = """
            WITH RECURSIVE cols AS (
              SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS declared,
                     a.attnotnull, a.attgenerated, a.atttypid AS typid, false AS is_array, 0 AS depth
              FROM pg_attribute a
              WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
              UNION ALL
              SELECT c.attnum, c.attname, c.declared, c.attnotnull, c.attgenerated,
                     CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END,
                     c.is_array OR (t.typtype <> 'd' AND t.typcategory = 'A'),
                     c.depth + 1
              FROM cols c JOIN pg_type t ON t.oid = c.typid
              WHERE (t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0)) AND c.depth < 8
            )
            SELECT DISTINCT ON (c.attnum) c.attname, c.declared, c.attnotnull, c.attgenerated,
                   CASE WHEN t.typtype = 'e' THEN 'enum' ELSE t.typname END AS base, c.is_array
            FROM cols c JOIN pg_type t ON t.oid = c.typid
            ORDER BY c.attnum, c.depth DESC""";

    // Every built-in type a column's values are made of: through domains (their base), arrays and
    // other subscriptable types (their element), composite types (their attributes), ranges (their
    // subtype) and multiranges (their range). A composite holding a regclass is as unreadable on
    // the shadow as a regclass column.
    private static final String HELD_TYPES_SQL = """
            WITH RECURSIVE held(attnum, typid, depth) AS (
              SELECT a.attnum, a.atttypid, 0 FROM pg_attribute a
              WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
              UNION
              SELECT h.attnum, parts.child, h.depth + 1
              FROM held h JOIN pg_type t ON t.oid = h.typid
              PARTS
              WHERE h.depth < 32
            )
            SELECT a.attname, t.typname
            FROM held h JOIN pg_type t ON t.oid = h.typid
            JOIN pg_attribute a ON a.attrelid = ? AND a.attnum = h.attnum
            WHERE t.typnamespace = 'pg_catalog'::regnamespace""".replace("PARTS", TypeParts.OF_T);

    // The columns that identify a row in the change stream: the replica identity index when one
    // is set, else the primary key. REPLICA IDENTITY FULL without a primary key has none.
    private static final String KEY_SQL = """
            SELECT a.attname
            FROM pg_index i
            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = ? AND CASE WHEN ? THEN i.indisreplident ELSE i.indisprimary END
            ORDER BY k.ord""";

    // Whether UPDATE and DELETE on a relation can be published: PostgreSQL refuses them on a
    // published table whose replica identity names no columns. A partitioned table's writes are
    // checked against each leaf partition's own identity, and published (via the partition root)
    // with the partitioned table's.
    private static final String IDENTITY_SQL = """
            SELECT n.nspname, c.relname, c.relreplident,
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)
            FROM (SELECT ?::oid::regclass AS relid, 0 AS level
                  UNION ALL
                  SELECT relid, level FROM pg_partition_tree(?::oid::regclass) WHERE isleaf AND level > 0) t
            JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
            ORDER BY t.level, n.nspname, c.relname""";

    // The value rows that existed before ADD COLUMN ... DEFAULT read for the column (PostgreSQL
    // stores it instead of rewriting them, so no change carries it). attmissingval is a
    // one-element array of the column's type; read through text[] its element is the value's text.
    private static final String MISSING_VALUES_SQL = """
            SELECT a.attname, (a.attmissingval::text::text[])[1]
            FROM pg_attribute a
            WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped AND a.atthasmissing""";

    private final Connection connection;

    public SourceCatalog(Connection connection) {
        this.connection = connection;
    }

    public Optional<Relation> relation(TableId table) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(RELATION_SQL)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Relation(rs.getLong(1), rs.getString(2).charAt(0), rs.getString(3).charAt(0), rs.getBoolean(4)));
            }
        }
    }

    /** A column the pipeline cannot carry as a plain value, found while describing a table. */
    public record GeneratedColumn(String name) {
    }

    /**
     * Columns in catalog order and the primary key; generated columns are reported separately.
     *
     * @param heldTypes column name to the built-in types ({@code pg_catalog} names) its values are
     *                  made of, its own type included (see {@link SupportedTypes})
     */
    public record Description(TableSpec spec, List<GeneratedColumn> generatedColumns, Map<String, Set<String>> heldTypes) {

        /** The built-in types column {@code name} holds. */
        public Set<String> heldTypes(String name) {
            return heldTypes.getOrDefault(name, Set.of());
        }
    }

    public Description describe(TableId table, Relation relation) throws SQLException {
        List<ColumnSpec> columns = new ArrayList<>();
        List<GeneratedColumn> generated = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(COLUMNS_SQL)) {
            ps.setLong(1, relation.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    String generatedKind = rs.getString(4);
                    if ("s".equals(generatedKind)) {
                        generated.add(new GeneratedColumn(name));
                    }
                    columns.add(new ColumnSpec(name, rs.getString(2), rs.getBoolean(3), rs.getString(5), rs.getBoolean(6)));
                }
            }
        }
        List<String> primaryKey = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(KEY_SQL)) {
            ps.setLong(1, relation.oid());
            ps.setBoolean(2, relation.replicaIdentity() == 'i');
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    primaryKey.add(rs.getString(1));
                }
            }
        }
        Map<String, Set<String>> held = new HashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(HELD_TYPES_SQL)) {
            ps.setLong(1, relation.oid());
            ps.setLong(2, relation.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    held.computeIfAbsent(rs.getString(1), k -> new TreeSet<>()).add(rs.getString(2));
                }
            }
        }
        return new Description(new TableSpec(table, columns, primaryKey), generated, held);
    }

    /** The relation itself first, then (for a partitioned table) each leaf partition. */
    public List<Identity> identities(Relation relation) throws SQLException {
        List<Identity> out = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(IDENTITY_SQL)) {
            ps.setLong(1, relation.oid());
            ps.setLong(2, relation.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Identity(new TableId(rs.getString(1), rs.getString(2)), rs.getString(3).charAt(0), rs.getBoolean(4),
                            rs.getBoolean(5)));
                }
            }
        }
        return out;
    }

    /** Column name to the text of the value pre-existing rows read for it, for columns added with a default. */
    public java.util.Map<String, String> missingValues(Relation relation) throws SQLException {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        try (PreparedStatement ps = connection.prepareStatement(MISSING_VALUES_SQL)) {
            ps.setLong(1, relation.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    /** Column name to the catalog name of its declared type ({@code pg_type.typname}). */
    public java.util.Map<String, String> typeNames(Relation relation) throws SQLException {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        try (PreparedStatement ps = connection.prepareStatement("""
                SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped""")) {
            ps.setLong(1, relation.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return out;
    }

    /**
     * The tables the configured entries name, in configuration order: exact entries as written
     * (preflight reports a missing one), patterns expanded to the ordinary and partitioned tables
     * they match (never a partition: its rows arrive through its partitioned table).
     */
    public List<TableId> resolve(List<dev.scry.backfill.model.TableSelector> selectors) throws SQLException {
        java.util.Set<TableId> out = new java.util.LinkedHashSet<>();
        List<TableId> all = null;
        for (dev.scry.backfill.model.TableSelector selector : selectors) {
            if (!selector.isPattern()) {
                out.add(selector.table());
                continue;
            }
            if (all == null) {
                all = new ArrayList<>();
                try (PreparedStatement ps = connection.prepareStatement("""
                        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                        ORDER BY 1, 2""");
                     ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        all.add(new TableId(rs.getString(1), rs.getString(2)));
                    }
                }
            }
            all.stream().filter(selector::matches).forEach(out::add);
        }
        return new ArrayList<>(out);
    }
}
