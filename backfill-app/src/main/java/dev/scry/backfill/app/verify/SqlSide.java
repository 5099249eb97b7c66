package dev.scry.backfill.app.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * A side computed inside its database: a row count and an order-independent digest (the sum of a
 * 64-bit slice of each row's md5, as numeric so it cannot overflow), the same per bucket, and
 * only the rows of differing buckets fetched. The row is read through one SQL expression per
 * shadow column: the column itself, or on the source what the transforms make of it
 * ({@link dev.scry.backfill.transform.TableForm}). Expressions read their bind parameters (a hash
 * key) from a one-row subquery joined in, so that each statement binds them once, first.
 */
final class SqlSide implements Side {

    static final String PARAMETER = "scry_backfill_param_";

    private final Connection connection;
    private final String from;
    private final List<String> parameters;
    private final String rowText;
    private final String keyText;
    private final List<String> keyColumns;

    /**
     * @param columns    an expression per shadow column, in the shadow's order
     * @param key        an expression per key column (empty for a table without a key)
     * @param parameters the values the expressions' parameters read, in order
     */
    SqlSide(Connection connection, TableId table, List<String> columns, List<String> key, List<String> parameters) {
        this.connection = connection;
        this.parameters = List.copyOf(parameters);
        StringBuilder params = new StringBuilder();
        for (int i = 1; i <= parameters.size(); i++) {
            params.append(i == 1 ? "" : ", ").append("?::text AS ").append(Identifiers.quote(PARAMETER + i));
        }
        this.from = parameters.isEmpty() ? table.quoted() : "(SELECT " + params + ") AS scry_backfill_params CROSS JOIN " + table.quoted();
        this.rowText = "ROW(" + String.join(", ", columns) + ")::text";
        this.keyText = key.isEmpty() ? rowText : "ROW(" + String.join(", ", key) + ")::text";
        this.keyColumns = key.stream().map(k -> "format('%s', " + k + ")").toList();
    }

    /** The columns of a table as they are. */
    static List<String> plain(List<String> names) {
        return names.stream().map(Identifiers::quote).toList();
    }

    @Override
    public Sum total() throws SQLException {
        String sql = "SELECT count(*), coalesce(sum(" + slice(rowText) + "), 0)::text FROM " + from;
        try (PreparedStatement ps = prepare(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new Sum(rs.getLong(1), rs.getString(2));
        }
    }

    @Override
    public Map<Integer, Sum> buckets() throws SQLException {
        String sql = "SELECT " + bucket(keyText) + " AS b, count(*), sum(" + slice(rowText) + ")::text FROM " + from + " GROUP BY 1";
        Map<Integer, Sum> out = new HashMap<>();
        try (PreparedStatement ps = prepare(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getInt(1), new Sum(rs.getLong(2), rs.getString(3)));
            }
        }
        return out;
    }

    @Override
    public Map<String, Row> rows(List<Integer> buckets) throws SQLException {
        return rows(bucket(keyText) + " = ANY (?)", connection.createArrayOf("int4", buckets.toArray()));
    }

    @Override
    public Map<String, Row> rows(java.util.Set<String> keys) throws SQLException {
        return rows(keyText + " = ANY (?)", connection.createArrayOf("text", keys.toArray()));
    }

    private Map<String, Row> rows(String where, java.sql.Array values) throws SQLException {
        List<String> select = new ArrayList<>(keyColumns);
        select.add(keyText);
        select.add("md5(" + rowText + ")");
        String sql = "SELECT " + String.join(", ", select) + " FROM " + from + " WHERE " + where;
        Map<String, Row> out = new HashMap<>();
        try (PreparedStatement ps = prepare(sql)) {
            ps.setArray(parameters.size() + 1, values);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    List<String> key = new ArrayList<>(keyColumns.size());
                    for (int i = 1; i <= keyColumns.size(); i++) {
                        key.add(rs.getString(i));
                    }
                    String md5 = rs.getString(keyColumns.size() + 2);
                    out.merge(rs.getString(keyColumns.size() + 1), new Row(key, md5), (a, b) -> new Row(a.key(), a.md5() + "+" + b.md5()));
                }
            }
        }
        return out;
    }

    private PreparedStatement prepare(String sql) throws SQLException {
        PreparedStatement ps = connection.prepareStatement(sql);
        for (int i = 0; i < parameters.size(); i++) {
            ps.setString(i + 1, parameters.get(i));
        }
        return ps;
    }

    /** The first 64 bits of the md5, as a signed number: what {@link RowText#slice} computes in Java. */
    private static String slice(String text) {
        return "('x' || substr(md5(" + text + "), 1, 16))::bit(64)::bigint::numeric";
    }

    /** The first 8 bits of the key's md5: what {@link RowText#bucket} computes in Java. */
    private static String bucket(String text) {
        return "('x' || substr(md5(" + text + "), 1, 2))::bit(8)::int";
    }
}
