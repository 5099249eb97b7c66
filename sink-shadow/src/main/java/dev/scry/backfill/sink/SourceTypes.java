package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TypeParts;

/**
 * What the shadow needs for a set of the source's types, read from the source's catalog: the
 * extensions they come from (with the extensions those require, required ones first) and the
 * user-defined types they are made of, each after the types it is made of. Built-in types need
 * nothing; a type that belongs to an extension comes with its extension, so its insides are not
 * looked into.
 */
final class SourceTypes {

    /** An extension as the source has it installed. */
    record Extension(String name, String schema, String version) {

        String describe() {
            return name + " " + version;
        }
    }

    /**
     * A type to define on the shadow. {@code kind} is {@code pg_type.typtype}; {@code relkind}
     * is set for a composite type (its relation's kind: 'c' for CREATE TYPE ... AS, 'r'/'p' for a
     * table's row type); {@code typrelid} is the composite's relation.
     */
    record UserType(long oid, TableId name, char kind, char relkind, long typrelid, boolean isArray) {
    }

    /** Everything, in the order it has to be created. */
    record Plan(List<Extension> extensions, List<UserType> types) {
    }

    // The closure of the given types through domains (their base), arrays (their element),
    // composites (their attributes), ranges (their subtype) and multiranges (their range),
    // stopping at built-in types and at types an extension owns (pg_depend deptype 'e'). A type
    // is created after everything it is made of: anything it reaches lies deeper than it on every
    // path, so ordering by the deepest path puts what is used first.
    private static final String TYPES_SQL = """
            WITH RECURSIVE used(oid, depth) AS (
              SELECT DISTINCT unnest(?::oid[]), 0
              UNION
              SELECT parts.child, u.depth + 1
              FROM used u JOIN pg_type t ON t.oid = u.oid
              PARTS
              WHERE u.depth < 32 AND t.typnamespace <> 'pg_catalog'::regnamespace
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                                AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
            )
            SELECT t.oid, n.nspname, t.typname, t.typtype, coalesce(c.relkind, '-'), t.typrelid,
                   t.typcategory = 'A' AND t.typelem <> 0,
                   (SELECT d.refobjid FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                    AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'),
                   max(u.depth)
            FROM used u JOIN pg_type t ON t.oid = u.oid JOIN pg_namespace n ON n.oid = t.typnamespace
            LEFT JOIN pg_class c ON c.oid = t.typrelid
            WHERE t.typnamespace <> 'pg_catalog'::regnamespace
            GROUP BY 1, 2, 3, 4, 5, 6, 7
            ORDER BY max(u.depth) DESC, t.oid""".replace("PARTS", TypeParts.OF_T);

    // The extensions, and those they require (an extension's dependency on another is recorded
    // between the two pg_extension rows), deepest requirement first.
    private static final String EXTENSIONS_SQL = """
            WITH RECURSIVE needed(oid, depth) AS (
              SELECT DISTINCT unnest(?::oid[]), 0
              UNION
              SELECT d.refobjid, n.depth + 1
              FROM needed n JOIN pg_depend d ON d.classid = 'pg_extension'::regclass AND d.objid = n.oid
                   AND d.refclassid = 'pg_extension'::regclass
              WHERE n.depth < 16
            )
            SELECT e.extname, s.nspname, e.extversion, max(n.depth)
            FROM needed n JOIN pg_extension e ON e.oid = n.oid JOIN pg_namespace s ON s.oid = e.extnamespace
            GROUP BY 1, 2, 3
            ORDER BY max(n.depth) DESC, 1""";

    private SourceTypes() {
    }

    static Plan read(Connection source, Collection<Long> typeOids) throws SQLException {
        List<UserType> types = new ArrayList<>();
        Set<Long> extensionOids = new LinkedHashSet<>();
        try (PreparedStatement ps = source.prepareStatement(TYPES_SQL)) {
            ps.setArray(1, source.createArrayOf("oid", typeOids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long extension = rs.getLong(8);
                    if (!rs.wasNull()) {
                        extensionOids.add(extension);
                    }
                    else {
                        types.add(new UserType(rs.getLong(1), new TableId(rs.getString(2), rs.getString(3)), rs.getString(4).charAt(0),
                                rs.getString(5).charAt(0), rs.getLong(6), rs.getBoolean(7)));
                    }
                }
            }
        }
        List<Extension> extensions = new ArrayList<>();
        if (!extensionOids.isEmpty()) {
            try (PreparedStatement ps = source.prepareStatement(EXTENSIONS_SQL)) {
                ps.setArray(1, source.createArrayOf("oid", extensionOids.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        extensions.add(new Extension(rs.getString(1), rs.getString(2), rs.getString(3)));
                    }
                }
            }
        }
        return new Plan(extensions, types);
    }

    /** The types of the given columns of source relations ({@code null} columns: all of them). */
    static List<Long> ofColumns(Connection source, long relationOid, Collection<String> columns) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (PreparedStatement ps = source.prepareStatement("""
                SELECT DISTINCT atttypid FROM pg_attribute
                WHERE attrelid = ? AND attnum > 0 AND NOT attisdropped AND (? OR attname = ANY (?::text[]))""")) {
            ps.setLong(1, relationOid);
            ps.setBoolean(2, columns == null);
            ps.setArray(3, source.createArrayOf("text", columns == null ? new Object[0] : columns.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }
}
