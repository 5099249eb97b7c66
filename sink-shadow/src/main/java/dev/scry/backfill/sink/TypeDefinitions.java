package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * The statements that define one user type on the shadow as the source defines it, read from the
 * source's catalog with PostgreSQL's own functions: {@code format_type} for every type named,
 * {@code pg_get_constraintdef} for a domain's checks, {@code pg_get_functiondef} for a range's
 * canonical and subtype-difference functions. Nothing here writes.
 */
final class TypeDefinitions {

    // A domain: base type, collation where it differs from the base type's, default, NOT NULL.
    private static final String DOMAIN_SQL = """
            SELECT format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
                   (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_type b, pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                    WHERE b.oid = t.typbasetype AND co.oid = t.typcollation AND t.typcollation <> b.typcollation)
            FROM pg_type t WHERE t.oid = ?""";

    // pg_get_constraintdef prints "CHECK (...)" and, for one added NOT VALID, a trailing "NOT
    // VALID", which only ALTER DOMAIN ... ADD CONSTRAINT accepts; so every check is added that way.
    private static final String CHECKS_SQL =
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = ? AND contype = 'c' ORDER BY conname";

    // The attributes of a composite type (or of the table whose row type it is), with a collation
    // where it differs from the attribute type's own.
    private static final String ATTRIBUTES_SQL = """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                   (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                    WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation)
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""";

    // A range type: its subtype; the subtype's operator class unless it is the default one; its
    // collation unless it is the subtype's; its canonical and subtype_diff functions (each with
    // pg_get_functiondef unless PostgreSQL or an extension provides it); its multirange's name.
    private static final String RANGE_SQL = """
            SELECT format_type(r.rngsubtype, NULL),
                   CASE WHEN opc.opcdefault THEN NULL ELSE format('%I.%I', opn.nspname, opc.opcname) END,
                   (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                    WHERE co.oid = r.rngcollation AND r.rngcollation <> st.typcollation),
                   (SELECT format('%I.%I', pn.nspname, p.proname) FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace
                    WHERE p.oid = r.rngcanonical),
                   (SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.oid = r.rngcanonical AND NOT PROVIDED),
                   (SELECT format('%I.%I', pn.nspname, p.proname) FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace
                    WHERE p.oid = r.rngsubdiff),
                   (SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.oid = r.rngsubdiff AND NOT PROVIDED),
                   (SELECT format('%I.%I', mn.nspname, mt.typname) FROM pg_type mt JOIN pg_namespace mn ON mn.oid = mt.typnamespace
                    WHERE mt.oid = r.rngmultitypid)
            FROM pg_range r JOIN pg_type st ON st.oid = r.rngsubtype
            JOIN pg_opclass opc ON opc.oid = r.rngsubopc JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
            WHERE r.rngtypid = ?""".replace("PROVIDED", """
            (p.pronamespace = 'pg_catalog'::regnamespace OR EXISTS (SELECT 1 FROM pg_depend d
             WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'))""");

    private TypeDefinitions() {
    }

    /** CREATE DOMAIN with its base type, collation, default and NOT NULL, then each CHECK. */
    static List<String> domain(Connection source, SourceTypes.UserType type) throws SQLException {
        List<String> statements = new ArrayList<>();
        try (PreparedStatement ps = source.prepareStatement(DOMAIN_SQL)) {
            ps.setLong(1, type.oid());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                StringBuilder create = new StringBuilder("CREATE DOMAIN ").append(type.name().quoted()).append(" AS ").append(rs.getString(1));
                if (rs.getString(4) != null) {
                    create.append(" COLLATE ").append(rs.getString(4));
                }
                if (rs.getString(3) != null) {
                    create.append(" DEFAULT ").append(rs.getString(3));
                }
                if (rs.getBoolean(2)) {
                    create.append(" NOT NULL");
                }
                statements.add(create.toString());
            }
        }
        try (PreparedStatement ps = source.prepareStatement(CHECKS_SQL)) {
            ps.setLong(1, type.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    statements.add("ALTER DOMAIN " + type.name().quoted() + " ADD CONSTRAINT " + Identifiers.quote(rs.getString(1))
                            + " " + rs.getString(2));
                }
            }
        }
        return statements;
    }

    /**
     * CREATE TYPE ... AS (...) for a composite type; for the row type of a table, the table
     * itself with its columns alone (a row type cannot exist without its table).
     */
    static List<String> composite(Connection source, SourceTypes.UserType type) throws SQLException {
        StringBuilder sql = new StringBuilder(type.relkind() == 'c' ? "CREATE TYPE " : "CREATE TABLE ").append(type.name().quoted())
                .append(type.relkind() == 'c' ? " AS (" : " (");
        try (PreparedStatement ps = source.prepareStatement(ATTRIBUTES_SQL)) {
            ps.setLong(1, type.typrelid());
            try (ResultSet rs = ps.executeQuery()) {
                for (int i = 0; rs.next(); i++) {
                    sql.append(i == 0 ? "" : ", ").append(Identifiers.quote(rs.getString(1))).append(' ').append(rs.getString(2));
                    if (rs.getString(3) != null) {
                        sql.append(" COLLATE ").append(rs.getString(3));
                    }
                }
            }
        }
        return List.of(sql.append(')').toString());
    }

    /**
     * CREATE TYPE ... AS RANGE with the source's subtype, operator class, collation, functions
     * and multirange name. A canonical function takes the range type itself, so when the source
     * defines it (in C: PostgreSQL refuses SQL functions on a shell type) the range starts as a
     * shell type, as the source's did.
     */
    static List<String> range(Connection source, SourceTypes.UserType type) throws SQLException {
        List<String> statements = new ArrayList<>();
        try (PreparedStatement ps = source.prepareStatement(RANGE_SQL)) {
            ps.setLong(1, type.oid());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                StringBuilder create = new StringBuilder("CREATE TYPE ").append(type.name().quoted()).append(" AS RANGE (SUBTYPE = ")
                        .append(rs.getString(1));
                if (rs.getString(2) != null) {
                    create.append(", SUBTYPE_OPCLASS = ").append(rs.getString(2));
                }
                if (rs.getString(3) != null) {
                    create.append(", COLLATION = ").append(rs.getString(3));
                }
                if (rs.getString(4) != null) {
                    create.append(", CANONICAL = ").append(rs.getString(4));
                    if (rs.getString(5) != null) {
                        statements.add("CREATE TYPE " + type.name().quoted());
                        statements.add(rs.getString(5));
                    }
                }
                if (rs.getString(6) != null) {
                    create.append(", SUBTYPE_DIFF = ").append(rs.getString(6));
                    if (rs.getString(7) != null) {
                        statements.add(rs.getString(7));
                    }
                }
                create.append(", MULTIRANGE_TYPE_NAME = ").append(rs.getString(8)).append(')');
                statements.add(create.toString());
            }
        }
        return statements;
    }

    /** The source's enum labels, in their order. */
    static List<String> enumLabels(Connection source, long oid) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = source.prepareStatement("SELECT enumlabel FROM pg_enum WHERE enumtypid = ? ORDER BY enumsortorder")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /** The shadow's labels of an enum, in their order. */
    static List<String> enumLabels(Connection shadow, TableId name) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = shadow.prepareStatement("""
                SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = ? AND t.typname = ? ORDER BY e.enumsortorder""")) {
            ps.setString(1, name.schema());
            ps.setString(2, name.name());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }
}
