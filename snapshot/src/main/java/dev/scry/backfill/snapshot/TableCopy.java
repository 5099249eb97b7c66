package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;
import java.util.stream.Collectors;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;

import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowWriter;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * Copies one table from a source connection (under whatever snapshot its transaction holds) into
 * the shadow table on another connection (in its open transaction), row by row from
 * {@code COPY ... TO STDOUT} into the shadow writer's bulk load, through the rate limit.
 */
final class TableCopy {

    private static final int THROTTLE_EVERY_ROWS = 128;

    /** What a copy did: the rows written (-1 when stopped part-way) and whether it travelled in binary. */
    record Copied(long rows, boolean binary) {
        String format() {
            return binary ? "binary" : "text";
        }
    }

    /**
     * What one worker copies at a time, as the snapshot journal plans it: a whole table, the rows
     * on a range of its pages, or the rows whose first key column is in a range of values. Bounds
     * are null where the range is open ({@code from} included, {@code to} excluded).
     */
    record Part(int id, TableSpec table, SnapshotJournal.Kind kind, Long from, Long to) {
        static Part whole(TableSpec table) {
            return new Part(0, table, SnapshotJournal.Kind.WHOLE, null, null);
        }

        /** The condition that selects the part's rows (a TID range scan for pages), or "" for a whole table. */
        String where() {
            String column = switch (kind) {
                case WHOLE -> null;
                case PAGES -> "ctid";
                case KEYS -> Identifiers.quote(table.primaryKey().get(0));
            };
            if (column == null || (from == null && to == null)) {
                return "";
            }
            String lower = from == null ? null : column + " >= " + bound(from);
            String upper = to == null ? null : column + " < " + bound(to);
            return " WHERE " + (lower == null ? upper : upper == null ? lower : lower + " AND " + upper);
        }

        private String bound(long value) {
            return kind == SnapshotJournal.Kind.PAGES ? "'(" + value + ",0)'::tid" : Long.toString(value);
        }

        String describe() {
            return switch (kind) {
                case WHOLE -> "";
                case PAGES -> ", pages " + (from == null ? 0 : from) + (to == null ? " to the end" : " to " + to);
                case KEYS -> ", " + table.primaryKey().get(0) + " from " + (from == null ? "the lowest" : from)
                        + (to == null ? " to the highest" : " to " + to);
            };
        }
    }

    private TableCopy() {
    }

    /**
     * Copies one part of a table (or all of it, {@link Part#whole}). Through the transform stage
     * when a transform touches the table: columns dropped by a transform are not even read from
     * the source; each remaining row is transformed (or filtered out) and written in the shadow
     * table's shape. A table no transform touches travels as it is, in binary where its types
     * allow, whatever the transforms do to other tables. Returns the rows written, or -1 rows when
     * {@code stopped} turned true part-way (both copies cancelled).
     */
    static Copied copy(Connection src, Connection dst, ShadowWriter writer, Part part, TransformChain chain, Throttle throttle,
                       BooleanSupplier stopped, IntConsumer progress) throws SQLException {
        TableSpec table = part.table();
        if (!chain.touches(table.id())) {
            boolean binary = sameBuiltInTypes(src, dst, table);
            return new Copied(copyAsIs(src, dst, writer, table, part.where(), binary, throttle, stopped, progress), binary);
        }
        return new Copied(copyTransformed(src, dst, writer, table, part.where(), chain, throttle, stopped, progress), false);
    }

    private static long copyTransformed(Connection src, Connection dst, ShadowWriter writer, TableSpec table, String where,
                                        TransformChain chain, Throttle throttle, BooleanSupplier stopped, IntConsumer progress)
            throws SQLException {
        java.util.Set<String> dropped = chain.droppedColumns(table.id());
        List<String> read = table.columns().stream().map(ColumnSpec::name).filter(n -> !dropped.contains(n)).toList();
        TableSpec shadow = chain.shape(table);
        List<String> write = shadow.columns().stream().map(ColumnSpec::name).toList();
        String from = (partitioned(src, table.id()) ? "" : "ONLY ") + table.id().quoted();
        try (Statement st = src.createStatement()) {
            // Timestamps with time zone in UTC, as the stream gives them to the transforms.
            st.execute("SET TIME ZONE 'UTC'");
        }
        CopyOut out = src.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT " + names(read) + " FROM " + from + where + ") TO STDOUT");
        ShadowWriter.RowCopy in = writer.copy(dst, table.id(), write, ShadowWriter.CopyFormat.TEXT);
        long rows = 0;
        int pendingRows = 0;
        long pendingBytes = 0;
        byte[] row;
        try {
            while ((row = out.readFromCopy()) != null) {
                pendingRows++;
                pendingBytes += row.length;
                ChangeEvent change = chain.apply(new ChangeEvent(table.id(), Op.READ, null, new RowImage(read, CopyText.parse(row), null)));
                if (change != null) {
                    String[] values = new String[write.size()];
                    RowImage after = change.after();
                    for (int i = 0; i < values.length; i++) {
                        values[i] = after.value(write.get(i));
                    }
                    byte[] encoded = CopyText.format(values);
                    in.write(encoded, 0, encoded.length);
                    rows++;
                }
                if (pendingRows == THROTTLE_EVERY_ROWS) {
                    throttle.admit(pendingRows, pendingBytes);
                    progress.accept(pendingRows);
                    pendingRows = 0;
                    pendingBytes = 0;
                    if (stopped.getAsBoolean()) {
                        out.cancelCopy();
                        in.cancel();
                        return -1;
                    }
                }
            }
            in.end();
        }
        catch (SQLException | RuntimeException e) {
            in.cancel();
            if (out.isActive()) {
                out.cancelCopy();
            }
            throw e;
        }
        if (pendingRows > 0) {
            throttle.admit(pendingRows, pendingBytes);
            progress.accept(pendingRows);
        }
        return rows;
    }

    private static String names(List<String> columns) {
        return columns.stream().map(Identifiers::quote).collect(Collectors.joining(", "));
    }

    private static long copyAsIs(Connection src, Connection dst, ShadowWriter writer, TableSpec table, String where, boolean binary,
                                 Throttle throttle, BooleanSupplier stopped, IntConsumer progress) throws SQLException {
        String columns = table.columns().stream().map(c -> Identifiers.quote(c.name())).collect(Collectors.joining(", "));
        // A partitioned table's rows live in its partitions, which its parent reads; a plain
        // table is read without the child tables of any inheritance, whose rows are not published as its own.
        String from = (partitioned(src, table.id()) ? "" : "ONLY ") + table.id().quoted();
        String format = binary ? " (FORMAT binary)" : "";
        CopyOut out = src.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT " + columns + " FROM " + from + where + ") TO STDOUT" + format);
        ShadowWriter.RowCopy in = writer.copy(dst, table.id(), table.columns().stream().map(ColumnSpec::name).toList(),
                binary ? ShadowWriter.CopyFormat.BINARY : ShadowWriter.CopyFormat.TEXT);
        long rows = 0;
        int pendingRows = 0;
        long pendingBytes = 0;
        byte[] row;
        // Rows are gathered into 256 KB writes: one CopyData message per row to the shadow costs more
        // than the rows themselves for narrow tables.
        byte[] buffer = new byte[256 * 1024];
        int buffered = 0;
        try {
            while ((row = out.readFromCopy()) != null) {
                if (buffered + row.length > buffer.length) {
                    in.write(buffer, 0, buffered);
                    buffered = 0;
                }
                if (row.length > buffer.length) {
                    in.write(row, 0, row.length);
                }
                else {
                    System.arraycopy(row, 0, buffer, buffered, row.length);
                    buffered += row.length;
                }
                if (binary && !isBinaryRow(row)) {
                    continue;
                }
                rows++;
                pendingRows++;
                pendingBytes += row.length;
                if (pendingRows == THROTTLE_EVERY_ROWS) {
                    throttle.admit(pendingRows, pendingBytes);
                    progress.accept(pendingRows);
                    pendingRows = 0;
                    pendingBytes = 0;
                    if (stopped.getAsBoolean()) {
                        out.cancelCopy();
                        in.cancel();
                        return -1;
                    }
                }
            }
            if (buffered > 0) {
                in.write(buffer, 0, buffered);
            }
            in.end();
        }
        catch (SQLException | RuntimeException e) {
            in.cancel();
            if (out.isActive()) {
                out.cancelCopy();
            }
            throw e;
        }
        if (pendingRows > 0) {
            throttle.admit(pendingRows, pendingBytes);
            progress.accept(pendingRows);
        }
        return rows;
    }

    private static final int BINARY_HEADER_LENGTH = 19;

    /**
     * Whether a message of a binary COPY holds a row: the server sends one row per message, the
     * 19-byte file header ahead of the first one and the 2-byte trailer (-1) after the last.
     */
    static boolean isBinaryRow(byte[] message) {
        int length = message.length;
        boolean header = length >= BINARY_HEADER_LENGTH && message[0] == 'P' && message[1] == 'G' && message[2] == 'C'
                && message[3] == 'O' && message[4] == 'P' && message[5] == 'Y' && message[6] == '\n';
        int body = header ? length - BINARY_HEADER_LENGTH : length;
        boolean trailerOnly = body == 2 && message[length - 2] == (byte) 0xFF && message[length - 1] == (byte) 0xFF;
        return body > 0 && !trailerOnly;
    }

    /**
     * Whether the table can travel in COPY's binary format: cheaper for both servers to write and
     * read than text, and exact. Only where every column has the same built-in type on both sides:
     * binary values are not converted (an int column cannot be read into a bigint one), and arrays
     * and records name their element types by OID, which differ between clusters for types
     * created in a database (enums, domains, extensions).
     */
    static boolean sameBuiltInTypes(Connection src, Connection dst, TableSpec table) throws SQLException {
        java.util.Map<String, String> source = columnTypes(src, table.id());
        java.util.Map<String, String> shadow = columnTypes(dst, table.id());
        for (ColumnSpec column : table.columns()) {
            String type = source.get(column.name());
            if (type == null || type.startsWith("-") || !type.equals(shadow.get(column.name()))) {
                return false;
            }
        }
        return true;
    }

    /** Column name to "type oid:format_type", with a leading "-" for a type that is not built in (or an array of one). */
    private static java.util.Map<String, String> columnTypes(Connection c, TableId table) throws SQLException {
        java.util.Map<String, String> types = new java.util.HashMap<>();
        // 10000 is FirstGenbkiObjectId: below it, the types compiled into the server, whose OIDs
        // and binary forms every cluster shares.
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT a.attname, CASE WHEN a.atttypid < 10000 AND (t.typelem = 0 OR t.typelem < 10000) THEN '' ELSE '-' END
                       || a.atttypid || ':' || format_type(a.atttypid, a.atttypmod)
                FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped""")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    types.put(rs.getString(1), rs.getString(2));
                }
            }
        }
        return types;
    }

    private static boolean partitioned(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ? AND c.relname = ?""")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }
}
