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
 * Creates on the shadow the user-defined types the copied tables use, as the source defines them:
 * enums with their labels in order (labels added on the source since are appended), and domains
 * with their base type, NOT NULL and CHECK constraints. Reads the source catalog; writes only the
 * shadow. Types that already exist on the shadow are left as they are.
 */
public final class ShadowTypes {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowTypes.class);

    // User types reachable from the tables' columns, through arrays and domains, domains' bases first.
    private static final String TYPES_SQL = """
            WITH RECURSIVE used(oid, depth) AS (
              SELECT a.atttypid, 0 FROM pg_attribute a
              WHERE a.attrelid = ANY (?::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
              UNION
              SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END, u.depth + 1
              FROM used u JOIN pg_type t ON t.oid = u.oid
              WHERE (t.typtype = 'd' OR t.typelem <> 0) AND u.depth < 8
            )
            SELECT t.oid, n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull, max(u.depth)
            FROM used u JOIN pg_type t ON t.oid = u.oid JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype IN ('e', 'd')
            GROUP BY 1, 2, 3, 4, 5, 6
            ORDER BY max(u.depth) DESC""";

    private ShadowTypes() {
    }

    /** Ensures the types of the source relations {@code tableOids} exist on the shadow. Commits on its own. */
    public static void ensure(Connection source, Connection shadow, List<Long> tableOids) throws SQLException {
        List<Object[]> types = new ArrayList<>();
        try (PreparedStatement ps = source.prepareStatement(TYPES_SQL)) {
            ps.setArray(1, source.createArrayOf("oid", tableOids.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    types.add(new Object[] {rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getBoolean(6)});
                }
            }
        }
        for (Object[] t : types) {
            TableId name = new TableId((String) t[1], (String) t[2]);
            if ("e".equals(t[3])) {
                ensureEnum(source, shadow, (Long) t[0], name);
            }
            else if (!exists(shadow, name)) {
                StringBuilder sql = new StringBuilder("CREATE DOMAIN ").append(name.quoted()).append(" AS ").append(t[4]);
                if ((Boolean) t[5]) {
                    sql.append(" NOT NULL");
                }
                try (PreparedStatement ps = source.prepareStatement(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = ? AND contype = 'c' ORDER BY conname")) {
                    ps.setLong(1, (Long) t[0]);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            sql.append(" CONSTRAINT ").append(Identifiers.quote(rs.getString(1))).append(' ').append(rs.getString(2));
                        }
                    }
                }
                execute(shadow, "CREATE SCHEMA IF NOT EXISTS " + Identifiers.quote(name.schema()), sql.toString());
                LOG.info("created domain {} on the shadow", name);
            }
        }
    }

    private static void ensureEnum(Connection source, Connection shadow, long oid, TableId name) throws SQLException {
        List<String> labels = labels(source, "SELECT enumlabel FROM pg_enum WHERE enumtypid = ? ORDER BY enumsortorder", oid);
        if (!exists(shadow, name)) {
            String list = String.join(", ", labels.stream().map(Identifiers::literal).toList());
            execute(shadow, "CREATE SCHEMA IF NOT EXISTS " + Identifiers.quote(name.schema()),
                    "CREATE TYPE " + name.quoted() + " AS ENUM (" + list + ")");
            LOG.info("created enum {} on the shadow", name);
            return;
        }
        List<String> have = labels(shadow, """
                SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = ? AND t.typname = ? ORDER BY e.enumsortorder""", name);
        for (String label : labels) {
            if (!have.contains(label)) {
                execute(shadow, "ALTER TYPE " + name.quoted() + " ADD VALUE IF NOT EXISTS " + Identifiers.literal(label));
                LOG.info("added label {} to enum {} on the shadow", label, name);
            }
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

    private static void execute(Connection shadow, String... statements) throws SQLException {
        try (Statement st = shadow.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        }
    }
}
