package dev.scry.backfill.sink.schema;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Catalog queries for the schema readers, on a connection whose transaction runs with an empty
 * {@code search_path} (as pg_dump's does): every name PostgreSQL's functions print
 * ({@code regclass}, {@code pg_get_indexdef}, {@code format_type}...) is then schema-qualified,
 * so the statements mean the same on the shadow whatever its search path.
 */
final class Catalog {

    // Bootstrap OIDs of the catalogs pg_depend and pg_description name objects by; the same in
    // every PostgreSQL version.
    static final long PG_CLASS = 1259;
    static final long PG_PROC = 1255;
    static final long PG_CONSTRAINT = 2606;
    static final long PG_TRIGGER = 2620;
    static final long PG_ATTRDEF = 2604;
    static final long PG_REWRITE = 2618;
    static final long PG_NAMESPACE = 2615;

    /** Objects with OIDs below this were created by initdb (FirstNormalObjectId). */
    static final long FIRST_NORMAL_OID = 16384;

    private final Connection connection;

    Catalog(Connection connection) {
        this.connection = connection;
    }

    interface Row {
        void read(ResultSet rs) throws SQLException;
    }

    /** Runs {@code sql} with {@code params} (Long collections bound as oid[], String collections as text[]). */
    void query(String sql, Row row, Object... params) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                Object p = params[i];
                if (p instanceof Collection<?> values) {
                    boolean text = values.stream().anyMatch(v -> v instanceof String);
                    ps.setArray(i + 1, connection.createArrayOf(text ? "text" : "oid", values.toArray()));
                }
                else {
                    ps.setObject(i + 1, p);
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    row.read(rs);
                }
            }
        }
    }

    static List<String> strings(Array array) throws SQLException {
        List<String> out = new ArrayList<>();
        if (array != null) {
            for (Object o : (Object[]) array.getArray()) {
                out.add(String.valueOf(o));
            }
        }
        return out;
    }

    /** {@code WITH (name='value', ...)} for reloptions as the catalog stores them ({@code name=value}); "" when none. */
    static String withOptions(List<String> options) {
        if (options.isEmpty()) {
            return "";
        }
        List<String> out = new ArrayList<>();
        for (String o : options) {
            int eq = o.indexOf('=');
            out.add(eq < 0 ? o : o.substring(0, eq) + "=" + dev.scry.backfill.model.Identifiers.literal(o.substring(eq + 1)));
        }
        return " WITH (" + String.join(", ", out) + ")";
    }
}
