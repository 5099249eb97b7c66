package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.source.XidSnapshot;

/**
 * The source's side of a copy by chunks ({@link ChunkedCopy}): each chunk read in a transaction
 * of its own, together with the snapshot it was read under, every value as its type's output text
 * (what the stream carries).
 */
final class ChunkReader {

    private static final Logger LOG = LoggerFactory.getLogger(ChunkReader.class);
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    /** A chunk's rows and the snapshot they were read under. */
    record Read(List<String[]> rows, XidSnapshot snapshot) {
    }

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private final TableSpec table;
    private final List<String> columns;
    private final int chunkRows;
    private final boolean partitioned;
    private List<String> sourceTypes;

    ChunkReader(TableSpec table, List<String> columns, int chunkRows, boolean partitioned) {
        this.table = table;
        this.columns = columns;
        this.chunkRows = chunkRows;
        this.partitioned = partitioned;
    }

    /** The rows after {@code after} (null: from the start), up to and including {@code until} when set, else {@code chunkRows} of them, in key order. */
    Read range(Connection src, List<String> after, List<String> until) throws SQLException, InterruptedException {
        List<String> key = table.primaryKey();
        String keyList = key.stream().map(Identifiers::quote).collect(Collectors.joining(", "));
        StringBuilder where = new StringBuilder();
        if (after != null) {
            where.append(" WHERE (").append(keyList).append(") > (").append(params(key)).append(")");
        }
        if (until != null) {
            where.append(after == null ? " WHERE (" : " AND (").append(keyList).append(") <= (").append(params(key)).append(")");
        }
        String sql = "SELECT " + select("") + " FROM " + from() + where + " ORDER BY " + keyList + (until == null ? " LIMIT " + chunkRows : "");
        return read(src, sql, ps -> {
            int i = 1;
            for (List<String> bound : java.util.Arrays.asList(after, until)) {
                if (bound != null) {
                    for (String v : bound) {
                        ps.setString(i++, v);
                    }
                }
            }
        });
    }

    /** The rows of the given keys (each as its key columns' text), through the key's index. */
    Read keys(Connection src, List<List<String>> keys) throws SQLException, InterruptedException {
        List<String> key = table.primaryKey();
        StringBuilder unnest = new StringBuilder();
        StringBuilder on = new StringBuilder();
        for (int i = 0; i < key.size(); i++) {
            unnest.append(i == 0 ? "" : ", ").append("?::text[]");
            on.append(i == 0 ? "" : " AND ").append("t.").append(Identifiers.quote(key.get(i))).append(" = u.k").append(i).append("::")
                    .append(table.column(key.get(i)).type());
        }
        String names = IntStream.range(0, key.size()).mapToObj(i -> "k" + i).collect(Collectors.joining(", "));
        String sql = "SELECT " + select("t.") + " FROM unnest(" + unnest + ") AS u(" + names + ") JOIN " + from() + " AS t ON " + on;
        return read(src, sql, ps -> {
            for (int i = 0; i < key.size(); i++) {
                int column = i;
                ps.setArray(i + 1, src.createArrayOf("text", keys.stream().map(k -> k.get(column)).toArray()));
            }
        });
    }

    /**
     * One chunk's read, in a REPEATABLE READ transaction of its own: the snapshot it reads under
     * is taken by its first statement, which returns it. ACCESS SHARE is the only lock it takes,
     * asked for with a short lock_timeout so that it never queues behind a schema change (and
     * writers behind it); the chunk is tried again a second later.
     */
    private Read read(Connection src, String sql, Binder binder) throws SQLException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            src.setAutoCommit(false);
            try (Statement st = src.createStatement()) {
                st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
                st.execute("SET LOCAL lock_timeout = '2s'");
                XidSnapshot snapshot;
                try (ResultSet rs = st.executeQuery("SELECT pg_current_snapshot()::text")) {
                    rs.next();
                    snapshot = XidSnapshot.parse(rs.getString(1));
                }
                List<String[]> rows = new ArrayList<>();
                try (PreparedStatement ps = src.prepareStatement(sql)) {
                    binder.bind(ps);
                    ps.setFetchSize(Math.min(chunkRows, 5000));
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            String[] row = new String[columns.size()];
                            for (int i = 0; i < row.length; i++) {
                                row[i] = rs.getString(i + 1);
                            }
                            rows.add(row);
                        }
                    }
                }
                src.commit();
                return new Read(rows, snapshot);
            }
            catch (SQLException e) {
                src.rollback();
                if (!LOCK_NOT_AVAILABLE.equals(e.getSQLState()) || attempt >= 30) {
                    throw e;
                }
                LOG.info("{} is locked by a schema change; reading its chunk again in a second", table.id());
                Thread.sleep(1000);
            }
            finally {
                src.setAutoCommit(true);
            }
        }
    }

    /** A row's key, its key columns' text. */
    List<String> keyOf(String[] row) {
        List<String> key = new ArrayList<>();
        for (String k : table.primaryKey()) {
            key.add(row[columns.indexOf(k)]);
        }
        return key;
    }

    /** The type names the stream gives each column (pg_type's typname), which the sink compares with the catalog's. */
    List<String> sourceTypes(Connection src) throws SQLException {
        if (sourceTypes == null) {
            Map<String, String> byName = new HashMap<>();
            try (PreparedStatement ps = src.prepareStatement("""
                    SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                    WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped""")) {
                ps.setString(1, table.id().quoted());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        byName.put(rs.getString(1), rs.getString(2));
                    }
                }
            }
            sourceTypes = columns.stream().map(c -> byName.getOrDefault(c, "")).toList();
        }
        return sourceTypes;
    }

    /** The planner's row estimate (pg_class.reltuples, summed over partitions), for progress; 0 when never analysed. */
    long estimate(Connection src) throws SQLException {
        try (PreparedStatement ps = src.prepareStatement("""
                SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_class c
                WHERE c.oid = ?::regclass OR c.oid IN (SELECT relid FROM pg_partition_tree(?::regclass) WHERE isleaf)""")) {
            ps.setString(1, table.id().quoted());
            ps.setString(2, table.id().quoted());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Each column as its output text (never a cast to text: a boolean is t, as the stream sends it). */
    private String select(String alias) {
        return columns.stream().map(c -> alias + Identifiers.quote(c)).map(c -> "CASE WHEN " + c + " IS NULL THEN NULL ELSE format('%s', "
                + c + ") END").collect(Collectors.joining(", "));
    }

    private String from() {
        // A partitioned table's rows are read through it; a plain one's without inheritance children.
        return (partitioned ? "" : "ONLY ") + table.id().quoted();
    }

    private String params(List<String> key) {
        return key.stream().map(k -> "?::" + table.column(k).type()).collect(Collectors.joining(", "));
    }
}
