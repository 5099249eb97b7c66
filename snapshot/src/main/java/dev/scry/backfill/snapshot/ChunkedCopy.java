package dev.scry.backfill.snapshot;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.source.Watermarks;

/**
 * Copies a table, or some of its keys, into a pipeline that streams, by chunks between
 * watermarks (see {@link Watermarks}): nothing on the source is locked beyond what any read holds
 * (ACCESS SHARE, for one chunk's read), so writers never wait on the copy.
 *
 * <p>A whole table is read in the order of its key, {@code chunkRows} rows after the last key
 * copied at a time, each chunk in a REPEATABLE READ transaction of its own whose snapshot the
 * watermark carries; the next chunk is read while the stream brings the previous one's watermark.
 * Keys a chunk could not settle (see {@link Watermarks}) are read again by key at the end. The
 * cursor each chunk records is the first key of the oldest chunk still in flight, so a copy
 * continued after a restart starts at or before every row not yet applied.
 */
public final class ChunkedCopy {

    private static final Logger LOG = LoggerFactory.getLogger(ChunkedCopy.class);
    private static final int MAX_ROUNDS = 50;

    /** Why a copy runs: the table joins, is copied again, or some keys are read again. */
    public enum Mode {
        ADD, RESNAPSHOT, REPAIR;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Told after each chunk the shadow committed; asked whether to stop. */
    public interface Progress {
        void applied(long rows, long estimate);

        boolean stopRequested();
    }

    private final ConnectionSettings source;
    private final Watermarks watermarks;
    private final TableSpec table;
    private final List<String> columns;
    private final boolean deleteFirst;
    private final int chunkRows;
    private final ChunkReader reader;

    /**
     * @param table       the source table (its key orders the chunks)
     * @param columns     the columns to read (those a drop-columns transform removes never leave the source)
     * @param deleteFirst whether a re-read key is deleted before its row is applied (a row filter
     *                    may leave the new row out while the old one must go)
     */
    public ChunkedCopy(ConnectionSettings source, Watermarks watermarks, TableSpec table, List<String> columns, boolean deleteFirst,
                       int chunkRows, boolean partitioned) {
        if (!table.hasPrimaryKey()) {
            throw new IllegalArgumentException("table " + table.id() + " has no key to copy it by chunks");
        }
        this.source = source;
        this.watermarks = watermarks;
        this.table = table;
        this.columns = List.copyOf(columns);
        this.deleteFirst = deleteFirst;
        this.chunkRows = chunkRows;
        this.reader = new ChunkReader(table, this.columns, chunkRows, partitioned);
    }

    /**
     * Copies the whole table, from after {@code cursor} when continuing (null: from the start, on
     * a table the start watermark empties), then reads again the keys chunks left unsettled.
     * Returns the rows applied, or -1 when stopped.
     */
    public long copyTable(Mode mode, List<String> cursor, boolean continued, Progress progress)
            throws SQLException, InterruptedException {
        boolean finished = false;
        try (Connection src = open()) {
            long estimate = reader.estimate(src);
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("mode", mode.label());
            details.put("estimate", estimate);
            details.put("continued", continued);
            writeAndAwait(watermarks.startCopy(table.id(), table.primaryKey(), !continued, details), src);
            Deque<InFlight> flight = new ArrayDeque<>();
            int retries = 0;
            List<List<String>> unsettled = new ArrayList<>();
            long applied = 0;
            List<String> next = cursor;
            boolean end = false;
            while (!end || !flight.isEmpty()) {
                if (progress.stopRequested()) {
                    return -1;
                }
                while (!end && flight.size() < 2) {
                    List<String> from = flight.isEmpty() ? next : flight.peekFirst().from;
                    InFlight chunk = readRange(src, next, null, from);
                    flight.addLast(chunk);
                    end = chunk.rows < chunkRows;
                    next = chunk.last;
                }
                InFlight oldest = flight.removeFirst();
                Watermarks.Outcome outcome = await(oldest.mark);
                if (outcome.retry()) {
                    tooManyRetries(++retries);
                    LOG.info("chunk of {} after {} read again: its snapshot missed a transaction the stream had delivered", table.id(),
                            oldest.from);
                    flight.addFirst(readRange(src, oldest.from, oldest.last, oldest.from));
                    continue;
                }
                unsettled.addAll(outcome.requeued());
                applied += outcome.applied();
                progress.applied(applied, estimate);
            }
            long again = readKeys(src, unsettled, progress);
            if (again < 0) {
                return -1;
            }
            writeAndAwait(watermarks.finishCopy(table.id(), Map.of("mode", mode.label())), src);
            finished = true;
            return applied + again;
        }
        finally {
            if (!finished) {
                watermarks.abandon(table.id());
            }
        }
    }

    /** Reads the keys again (a repair); returns the keys applied, or -1 when stopped. */
    public long copyKeys(List<List<String>> keys, Progress progress) throws SQLException, InterruptedException {
        boolean finished = false;
        try (Connection src = open()) {
            writeAndAwait(watermarks.startCopy(table.id(), table.primaryKey(), false, Map.of("mode", Mode.REPAIR.label(),
                    "estimate", keys.size(), "continued", false)), src);
            long applied = readKeys(src, keys, progress);
            if (applied >= 0) {
                writeAndAwait(watermarks.finishCopy(table.id(), Map.of("mode", Mode.REPAIR.label())), src);
                finished = true;
            }
            return applied;
        }
        finally {
            if (!finished) {
                watermarks.abandon(table.id());
            }
        }
    }

    private long readKeys(Connection src, List<List<String>> keys, Progress progress) throws SQLException, InterruptedException {
        List<List<String>> todo = new ArrayList<>(keys);
        long applied = 0;
        for (int round = 1; !todo.isEmpty(); round++) {
            if (round > MAX_ROUNDS) {
                throw new PipelineFailure(todo.size() + " key(s) of " + table.id() + " changed under every one of " + MAX_ROUNDS
                        + " reads (updates that left values unsent, unchanged TOAST); run the command again");
            }
            List<List<String>> again = new ArrayList<>();
            for (int from = 0; from < todo.size(); from += chunkRows) {
                if (progress.stopRequested()) {
                    return -1;
                }
                List<List<String>> part = todo.subList(from, Math.min(todo.size(), from + chunkRows));
                Watermarks.Outcome outcome = await(readByKeys(src, part));
                for (int retry = 1; outcome.retry(); retry++) {
                    tooManyRetries(retry);
                    outcome = await(readByKeys(src, part));
                }
                again.addAll(outcome.requeued());
                applied += outcome.applied();
                progress.applied(applied, keys.size());
            }
            todo = again;
        }
        return applied;
    }

    /** A snapshot that keeps missing a transaction the stream delivered is no passing moment: something is stuck. */
    private void tooManyRetries(int retries) {
        if (retries > MAX_ROUNDS) {
            throw new PipelineFailure("chunks of " + table.id() + " were read again " + MAX_ROUNDS + " times because their snapshot"
                    + " missed a transaction the stream had already delivered; a transaction seems stuck between its commit and"
                    + " its end on the source (pg_stat_activity shows it); run the command again once it is gone");
        }
    }

    /** A chunk written to the stream: its first key (null: the table's start), last key and rows read. */
    private record InFlight(Watermarks.Mark mark, List<String> from, List<String> last, int rows) {
    }

    /** Reads a range (see {@link ChunkReader#range}) and writes its watermark; {@code cursor} is what its control records. */
    private InFlight readRange(Connection src, List<String> after, List<String> until, List<String> cursor)
            throws SQLException, InterruptedException {
        ChunkReader.Read read = reader.range(src, after, until);
        List<String> last = read.rows().isEmpty() ? after : reader.keyOf(read.rows().get(read.rows().size() - 1));
        Map<String, Object> details = new HashMap<>();
        details.put("cursor", cursor);
        Watermarks.Mark mark = watermarks.chunk(new Watermarks.Chunk(table.id(), columns, reader.sourceTypes(src), table.primaryKey(),
                read.rows(), null, false, read.snapshot(), details));
        write(src, mark);
        return new InFlight(mark, after, until != null ? until : last, read.rows().size());
    }

    private Watermarks.Mark readByKeys(Connection src, List<List<String>> keys) throws SQLException, InterruptedException {
        ChunkReader.Read read = reader.keys(src, keys);
        Watermarks.Mark mark = watermarks.chunk(new Watermarks.Chunk(table.id(), columns, reader.sourceTypes(src), table.primaryKey(),
                read.rows(), List.copyOf(keys), deleteFirst, read.snapshot(), Map.of()));
        write(src, mark);
        return mark;
    }

    private void write(Connection src, Watermarks.Mark mark) throws SQLException {
        try {
            Watermarks.write(src, mark);
        }
        catch (SQLException e) {
            watermarks.forget(mark);
            throw e;
        }
    }

    /** Writes a watermark and waits until the shadow committed what it brought. */
    private Watermarks.Outcome writeAndAwait(Watermarks.Mark mark, Connection src) throws SQLException, InterruptedException {
        write(src, mark);
        return await(mark);
    }

    /** Waits until the shadow committed what a written watermark brought. */
    private static Watermarks.Outcome await(Watermarks.Mark mark) throws InterruptedException {
        return mark.await();
    }

    private Connection open() {
        return ConnectionFactory.open(source, "source", "scry-backfill copy " + table.id());
    }
}
