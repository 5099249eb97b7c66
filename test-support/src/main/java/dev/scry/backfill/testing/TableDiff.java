package dev.scry.backfill.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares a table on the source with the same table on the shadow, row by row, by each row's
 * text form ({@code t::text}, which prints every column the way PostgreSQL outputs it). Reports
 * rows missing on either side and rows present more than once.
 */
public final class TableDiff {

    private TableDiff() {
    }

    /** Rows as text, with how often each occurs. */
    public static Map<String, Integer> rows(Connection c, String quotedTable) throws SQLException {
        Map<String, Integer> rows = new HashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT t::text FROM " + quotedTable + " t")) {
            while (rs.next()) {
                rows.merge(rs.getString(1), 1, Integer::sum);
            }
        }
        return rows;
    }

    public static long count(Connection c, String quotedTable) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + quotedTable)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Empty when both sides hold exactly the same rows; otherwise up to ten differences, described. */
    public static List<String> differences(Connection source, Connection shadow, String quotedTable) throws SQLException {
        Map<String, Integer> a = rows(source, quotedTable);
        Map<String, Integer> b = rows(shadow, quotedTable);
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Integer> e : a.entrySet()) {
            int other = b.getOrDefault(e.getKey(), 0);
            if (other != e.getValue()) {
                out.add(quotedTable + ": source has " + e.getValue() + "x, shadow " + other + "x: " + abbreviate(e.getKey()));
            }
        }
        for (Map.Entry<String, Integer> e : b.entrySet()) {
            if (!a.containsKey(e.getKey())) {
                out.add(quotedTable + ": only on shadow (" + e.getValue() + "x): " + abbreviate(e.getKey()));
            }
        }
        return out.size() > 10 ? new ArrayList<>(out.subList(0, 10)) : out;
    }

    private static String abbreviate(String row) {
        return row.length() > 200 ? row.substring(0, 200) + "..." : row;
    }
}
