package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * Creates on the shadow the user-defined types the copied tables use, as the source defines them,
 * so that the shadow's columns have the same declared types and the apply casts
 * ({@code CAST(text AS "Mood")}) accept the same values: enums with their labels in order (labels
 * the source gained since are added at the same place in the order), and domains with their base
 * type, collation, default, NOT NULL and CHECK constraints. Reads the source catalog; writes only
 * the shadow. A domain that already exists on the shadow is left as it is.
 */
public final class ShadowTypes {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowTypes.class);

    // User types reachable from the tables' columns, through arrays and domains, domains' bases
    // first (a domain over an enum or over another domain needs that type to exist).
    private static final String TYPES_SQL = """
            WITH RECURSIVE used(oid, depth) AS (
              SELECT a.atttypid, 0 FROM pg_attribute a
              WHERE a.attrelid = ANY (?::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
              UNION
              SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END, u.depth + 1
              FROM used u JOIN pg_type t ON t.oid = u.oid
              WHERE (t.typtype = 'd' OR t.typelem <> 0) AND u.depth < 8
            )
            SELECT t.oid, n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
                   (SELECT format('%I.%I', cn.nspname, co.collname)
                    FROM pg_type b, pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                    WHERE b.oid = t.typbasetype AND co.oid = t.typcollation AND t.typcollation <> b.typcollation),
                   max(u.depth)
            FROM used u JOIN pg_type t ON t.oid = u.oid JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype IN ('e', 'd')
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
            ORDER BY max(u.depth) DESC""";

    // pg_get_constraintdef prints "CHECK (...)" and, for one added NOT VALID, a trailing "NOT
    // VALID", which only ALTER DOMAIN ... ADD CONSTRAINT accepts; so every check is added that way.
    private static final String CHECKS_SQL =
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = ? AND contype = 'c' ORDER BY conname";

    private record UserType(long oid, TableId name, boolean isEnum, String baseType, boolean notNull, String defaultExpr,
                            String collation) {
    }

    private ShadowTypes() {
    }

    /** Ensures the types of the source relations {@code tableOids} exist on the shadow. Commits on its own. */
    public static void ensure(Connection source, Connection shadow, List<Long> tableOids) throws SQLException {
        List<UserType> types = new ArrayList<>();
        try (PreparedStatement ps = source.prepareStatement(TYPES_SQL)) {
            ps.setArray(1, source.createArrayOf("oid", tableOids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    types.add(new UserType(rs.getLong(1), new TableId(rs.getString(2), rs.getString(3)), "e".equals(rs.getString(4)),
                            rs.getString(5), rs.getBoolean(6), rs.getString(7), rs.getString(8)));
                }
            }
        }
        for (UserType type : types) {
            if (type.isEnum()) {
                ensureEnum(source, shadow, type);
            }
            else if (!exists(shadow, type.name())) {
                createDomain(source, shadow, type);
            }
        }
    }

    private static void createDomain(Connection source, Connection shadow, UserType type) throws SQLException {
        List<String> statements = new ArrayList<>();
        statements.add("CREATE SCHEMA IF NOT EXISTS " + Identifiers.quote(type.name().schema()));
        StringBuilder create = new StringBuilder("CREATE DOMAIN ").append(type.name().quoted()).append(" AS ").append(type.baseType());
        if (type.collation() != null) {
            create.append(" COLLATE ").append(type.collation());
        }
        if (type.defaultExpr() != null) {
            create.append(" DEFAULT ").append(type.defaultExpr());
        }
        if (type.notNull()) {
            create.append(" NOT NULL");
        }
        statements.add(create.toString());
        try (PreparedStatement ps = source.prepareStatement(CHECKS_SQL)) {
            ps.setLong(1, type.oid());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    statements.add("ALTER DOMAIN " + type.name().quoted() + " ADD CONSTRAINT " + Identifiers.quote(rs.getString(1))
                            + " " + rs.getString(2));
                }
            }
        }
        inTransaction(shadow, statements);
        LOG.info("created domain {} on the shadow", type.name());
    }

    private static void ensureEnum(Connection source, Connection shadow, UserType type) throws SQLException {
        List<String> labels = labels(source, "SELECT enumlabel FROM pg_enum WHERE enumtypid = ? ORDER BY enumsortorder", type.oid());
        TableId name = type.name();
        if (!exists(shadow, name)) {
            String list = String.join(", ", labels.stream().map(Identifiers::literal).toList());
            inTransaction(shadow, List.of("CREATE SCHEMA IF NOT EXISTS " + Identifiers.quote(name.schema()),
                    "CREATE TYPE " + name.quoted() + " AS ENUM (" + list + ")"));
            LOG.info("created enum {} on the shadow", name);
            return;
        }
        List<String> have = labels(shadow, """
                SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = ? AND t.typname = ? ORDER BY e.enumsortorder""", name);
        List<String> statements = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            String label = labels.get(i);
            if (have.contains(label)) {
                continue;
            }
            // Placed right after the label that precedes it on the source (present on the shadow
            // by now), so the shadow sorts the enum's values as the source does.
            String where = i > 0 ? " AFTER " + Identifiers.literal(labels.get(i - 1))
                    : have.isEmpty() ? "" : " BEFORE " + Identifiers.literal(have.get(0));
            statements.add("ALTER TYPE " + name.quoted() + " ADD VALUE " + Identifiers.literal(label) + where);
            LOG.info("adding label {} to enum {} on the shadow", label, name);
        }
        if (!statements.isEmpty()) {
            inTransaction(shadow, statements);
        }
    }

    private static List<String> labels(Connection c, String sql, Object key) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            if (key instanceof TableId t) {
                ps.setString(1, t.schema());
                ps.setString(2, t.name());
            }
            else {
                ps.setLong(1, (Long) key);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private static boolean exists(Connection shadow, TableId type) throws SQLException {
        try (PreparedStatement ps = shadow.prepareStatement(
                "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ? AND t.typname = ?")) {
            ps.setString(1, type.schema());
            ps.setString(2, type.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * All or nothing: a domain is never left on the shadow without its constraints. Inside a
     * caller's transaction the statements simply join it.
     */
    private static void inTransaction(Connection shadow, List<String> statements) throws SQLException {
        boolean autoCommit = shadow.getAutoCommit();
        shadow.setAutoCommit(false);
        try (Statement st = shadow.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
            if (autoCommit) {
                shadow.commit();
            }
        }
        catch (SQLException e) {
            if (autoCommit) {
                shadow.rollback();
            }
            throw e;
        }
        finally {
            shadow.setAutoCommit(autoCommit);
        }
    }
}
