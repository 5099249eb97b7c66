package dev.scry.backfill.app.verify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * The SQL that compares a table without moving it: a row count and an order-independent digest
 * (the sum of a 64-bit slice of each row's md5, as numeric so it cannot overflow) computed inside
 * each database, then the same per bucket of rows, and only the rows of differing buckets fetched.
 * Every identifier is quoted; the same column list, in source order, is read on both sides.
 */
final class TableDigest {

    static final int BUCKETS = 256;

    /** Count and digest of a table or of one bucket. */
    record Sum(long rows, String digest) {
    }

    private final TableId table;
    private final String rowText;
    private final String keyText;

    /** @param key the key columns; empty for a table without one (rows are then compared as a multiset) */
    TableDigest(TableId table, List<String> columns, List<String> key) {
        this.table = table;
        this.rowText = "ROW(" + columns.stream().map(Identifiers::quote).collect(Collectors.joining(", ")) + ")::text";
        this.keyText = key.isEmpty() ? rowText : "ROW(" + key.stream().map(Identifiers::quote).collect(Collectors.joining(", ")) + ")::text";
    }

    Sum total(Connection c) throws SQLException {
        String sql = "SELECT count(*), coalesce(sum(" + hash(rowText) + "), 0)::text FROM " + table.quoted();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new Sum(rs.getLong(1), rs.getString(2));
        }
    }

    Map<Integer, Sum> buckets(Connection c) throws SQLException {
        String sql = "SELECT " + bucket() + " AS b, count(*), sum(" + hash(rowText) + ")::text FROM " + table.quoted() + " GROUP BY 1";
        Map<Integer, Sum> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.put(rs.getInt(1), new Sum(rs.getLong(2), rs.getString(3)));
            }
        }
        return out;
    }

    /** Key text to the md5 of each row in the buckets; for a keyless table, row text to its count. */
    Map<String, String> rows(Connection c, List<Integer> buckets) throws SQLException {
        String sql = "SELECT " + keyText + ", md5(" + rowText + ") FROM " + table.quoted() + " WHERE " + bucket() + " = ANY (?)";
        Map<String, String> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("int4", buckets.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.merge(rs.getString(1), rs.getString(2), (a, b) -> a + "+" + b);
                }
            }
        }
        return out;
    }

    private static String hash(String text) {
        return "('x' || substr(md5(" + text + "), 1, 16))::bit(64)::bigint::numeric";
    }

    private String bucket() {
        return "(abs(hashtext(" + keyText + ")::bigint) % " + BUCKETS + ")::int";
    }
}
