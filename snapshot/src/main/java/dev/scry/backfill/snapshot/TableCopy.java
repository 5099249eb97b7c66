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
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * Copies one table from a source connection (under whatever snapshot its transaction holds) into
 * the shadow table on another connection (in its open transaction), row by row from
 * {@code COPY ... TO STDOUT} into {@code COPY ... FROM STDIN}, through the rate limit.
 */
final class TableCopy {

    private static final int THROTTLE_EVERY_ROWS = 128;

    private TableCopy() {
    }

    /** Returns the rows copied, or -1 when {@code stopped} turned true part-way (both copies cancelled). */
    static long copy(Connection src, Connection dst, TableSpec table, Throttle throttle, BooleanSupplier stopped, IntConsumer progress)
            throws SQLException {
        return copy(src, dst, table, TransformChain.NONE, throttle, stopped, progress);
    }

    /**
     * The same through the transform stage: columns dropped by a transform are not even read from
     * the source; each remaining row is transformed (or filtered out) and written in the shadow
     * table's shape. Returns the rows written.
     */
    static long copy(Connection src, Connection dst, TableSpec table, TransformChain chain, Throttle throttle, BooleanSupplier stopped,
                     IntConsumer progress) throws SQLException {
        if (chain.isEmpty()) {
            return copyAsIs(src, dst, table, throttle, stopped, progress);
        }
        java.util.Set<String> dropped = chain.droppedColumns(table.id());
        List<String> read = table.columns().stream().map(ColumnSpec::name).filter(n -> !dropped.contains(n)).toList();
        TableSpec shadow = chain.shape(table);
        List<String> write = shadow.columns().stream().map(ColumnSpec::name).toList();
        String from = (partitioned(src, table.id()) ? "" : "ONLY ") + table.id().quoted();
        try (Statement st = src.createStatement()) {
            // Timestamps with time zone in UTC, as the stream gives them to the transforms.
            st.execute("SET TIME ZONE 'UTC'");
        }
        CopyOut out = src.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT " + names(read) + " FROM " + from + ") TO STDOUT");
        CopyIn in = dst.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + table.id().quoted() + " (" + names(write) + ") FROM STDIN");
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
                    in.writeToCopy(encoded, 0, encoded.length);
                    rows++;
                }
                if (pendingRows == THROTTLE_EVERY_ROWS) {
                    throttle.admit(pendingRows, pendingBytes);
                    progress.accept(pendingRows);
                    pendingRows = 0;
                    pendingBytes = 0;
                    if (stopped.getAsBoolean()) {
                        out.cancelCopy();
                        in.cancelCopy();
                        return -1;
                    }
                }
            }
            in.endCopy();
        }
        catch (SQLException | RuntimeException e) {
            if (in.isActive()) {
                in.cancelCopy();
            }
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

    private static long copyAsIs(Connection src, Connection dst, TableSpec table, Throttle throttle, BooleanSupplier stopped,
                                 IntConsumer progress) throws SQLException {
        String columns = table.columns().stream().map(c -> Identifiers.quote(c.name())).collect(Collectors.joining(", "));
        // A partitioned table's rows live in its partitions, which its parent reads; a plain
        // table is read without the child tables of any inheritance, whose rows are not published as its own.
        String from = (partitioned(src, table.id()) ? "" : "ONLY ") + table.id().quoted();
        CopyOut out = src.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT " + columns + " FROM " + from + ") TO STDOUT");
        CopyIn in = dst.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + table.id().quoted() + " (" + columns + ") FROM STDIN");
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
                    in.writeToCopy(buffer, 0, buffered);
                    buffered = 0;
                }
                if (row.length > buffer.length) {
                    in.writeToCopy(row, 0, row.length);
                }
                else {
                    System.arraycopy(row, 0, buffer, buffered, row.length);
                    buffered += row.length;
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
                        in.cancelCopy();
                        return -1;
                    }
                }
            }
            if (buffered > 0) {
                in.writeToCopy(buffer, 0, buffered);
            }
            in.endCopy();
        }
        catch (SQLException | RuntimeException e) {
            if (in.isActive()) {
                in.cancelCopy();
            }
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
