package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * Cuts the tables of a copy snapshot into parts of about {@code snapshot.chunk-mb}, so that the
 * workers share large tables and an interrupted snapshot continues part by part.
 *
 * <p>A table whose first key column is an integer is cut into ranges of that column's values:
 * such a part can be copied again on its own after a crash, because a change in the stream can be
 * told to belong to it by its key (see the stream's snapshot overlap). Boundaries follow the
 * column's histogram where the table has been analysed, else are spread evenly between its lowest
 * and highest key. Other tables are cut into ranges of their pages (a TID range scan, PostgreSQL
 * 14 or later): shared by the workers all the same, but a crash redoes such a table whole.
 * Partitioned parents are copied whole.
 */
final class PartPlanner {

    private static final Set<String> INTEGER_KEYS = Set.of("int2", "int4", "int8");

    private PartPlanner() {
    }

    /** The columns and types of a table, as the journal records them to recognise its shape later. */
    static String columns(TableSpec table) {
        return table.columns().stream().map(c -> Identifiers.quote(c.name()) + " " + c.type()).collect(Collectors.joining(", "));
    }

    static List<TableCopy.Part> plan(Connection source, List<TableSpec> tables, long chunkBytes) throws SQLException {
        List<TableCopy.Part> parts = new ArrayList<>();
        boolean tidRanges = source.getMetaData().getDatabaseMajorVersion() >= 14;
        for (TableSpec table : tables) {
            long[] size = chunkBytes <= 0 ? null : pages(source, table.id());
            long pagesPerChunk = size == null ? 0 : Math.max(1, chunkBytes / size[1]);
            if (size == null || size[0] <= pagesPerChunk * 3 / 2) {
                parts.add(part(parts, table, SnapshotJournal.Kind.WHOLE, null, null));
                continue;
            }
            int count = (int) Math.min(10_000, (size[0] + pagesPerChunk - 1) / pagesPerChunk);
            List<Long> bounds = integerKey(table) ? keyBounds(source, table, count) : null;
            if (bounds != null && !bounds.isEmpty()) {
                Long from = null;
                for (Long to : bounds) {
                    parts.add(part(parts, table, SnapshotJournal.Kind.KEYS, from, to));
                    from = to;
                }
                parts.add(part(parts, table, SnapshotJournal.Kind.KEYS, from, null));
            }
            else if (tidRanges) {
                for (long from = 0; from < size[0]; from += pagesPerChunk) {
                    boolean last = from + pagesPerChunk >= size[0];
                    // The last part is open-ended: pages added since the size was read are read too.
                    parts.add(part(parts, table, SnapshotJournal.Kind.PAGES, from, last ? null : from + pagesPerChunk));
                }
            }
            else {
                parts.add(part(parts, table, SnapshotJournal.Kind.WHOLE, null, null));
            }
        }
        return parts;
    }

    private static TableCopy.Part part(List<TableCopy.Part> so, TableSpec table, SnapshotJournal.Kind kind, Long from, Long to) {
        return new TableCopy.Part(so.size() + 1, table, kind, from, to);
    }

    static boolean integerKey(TableSpec table) {
        if (!table.hasPrimaryKey()) {
            return false;
        }
        ColumnSpec first = table.column(table.primaryKey().get(0));
        return first != null && !first.array() && INTEGER_KEYS.contains(first.baseType());
    }

    /**
     * Up to {@code count - 1} increasing boundaries between parts of about equal size: from the
     * column's histogram when the planner has one, else evenly between its lowest and highest value.
     */
    private static List<Long> keyBounds(Connection c, TableSpec table, int count) throws SQLException {
        String key = table.primaryKey().get(0);
        TreeSet<Long> bounds = new TreeSet<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT histogram_bounds::text::bigint[] FROM pg_stats
                WHERE schemaname = ? AND tablename = ? AND attname = ? AND NOT inherited""")) {
            ps.setString(1, table.id().schema());
            ps.setString(2, table.id().name());
            ps.setString(3, key);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getArray(1) != null) {
                    Long[] histogram = (Long[]) rs.getArray(1).getArray();
                    if (histogram.length > count) {
                        for (int i = 1; i < count; i++) {
                            bounds.add(histogram[(int) ((long) i * (histogram.length - 1) / count)]);
                        }
                        return List.copyOf(bounds);
                    }
                }
            }
        }
        String column = Identifiers.quote(key);
        try (PreparedStatement ps = c.prepareStatement("SELECT min(" + column + "), max(" + column + ") FROM ONLY " + table.id().quoted());
             ResultSet rs = ps.executeQuery()) {
            if (!rs.next() || rs.getObject(1) == null) {
                return List.of();
            }
            long low = rs.getLong(1);
            long high = rs.getLong(2);
            double step = ((double) high - (double) low) / count;
            for (int i = 1; i < count && step >= 1; i++) {
                bounds.add(low + (long) (step * i));
            }
        }
        return List.copyOf(bounds);
    }

    /** A plain table's pages and page size; null for a partitioned parent. */
    private static long[] pages(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::bigint, current_setting('block_size')::bigint
                FROM pg_class c WHERE c.oid = ?::regclass""")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !"r".equals(rs.getString(1))) {
                    return null;
                }
                return new long[] {rs.getLong(2), rs.getLong(3)};
            }
        }
    }
}
