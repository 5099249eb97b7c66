package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * The seam through which every row reaches the shadow: the snapshot's parts and a table joining
 * or copied again arrive in bulk ({@link #copy}), the stream's batches (chunks of a table copied
 * while streaming among them) by their net effect ({@link #apply}), and a dead letter replayed the
 * same way. Each write happens in a shadow transaction the caller holds, and the rows' counts and,
 * where the caller moves it, the checkpoint are written in that same transaction
 * ({@link #count}, {@link #checkpoint}): that is what lets a crash at any instant resume exactly
 * after the last commit. The caller owns the transaction (its retries, fences and commit); a
 * writer owns what the shadow's rows look like on the way in. {@link PgShadowWriter} is the one
 * implementation: another sink is another implementation of this interface.
 */
public interface ShadowWriter {

    /** The writer for bulk loads (snapshot parts, tables joining): it tracks no table's changes until one {@link #join}s. */
    static ShadowWriter forLoads(String pipeline) {
        return new PgShadowWriter(pipeline);
    }

    /** COPY's two formats: binary only where both sides share every column's built-in type (the caller knows). */
    enum CopyFormat {
        TEXT, BINARY
    }

    /** Starts a bulk load of a table's rows, sent in COPY's {@code format}, in the order of {@code columns}. */
    RowCopy copy(Connection tx, TableId table, List<String> columns, CopyFormat format) throws SQLException;

    /** Empties a table before it is loaded again (DELETE where a foreign key forbids TRUNCATE), in {@code tx}. */
    void empty(Connection tx, TableId table) throws SQLException;

    /**
     * Applies a batch by its net effect per key. With {@code rowAtATime}, every run holds one row:
     * the fallback for the rare batch where two text forms of one key compare equal in SQL (1.0 and
     * 1.00 in a numeric key), which the server rejects within one statement (SQLSTATE 21000).
     * Returns what it applied per table; nothing is counted yet.
     */
    Map<TableId, TableCounts> apply(Connection tx, ChangeBatch batch, boolean rowAtATime) throws SQLException;

    /**
     * As {@link #apply}, except that the batch's last statements may wait to go to the shadow with
     * the checkpoint: {@link #checkpoint} then sends them and it in one round trip. The caller's
     * next use of {@code tx} must be a call of this writer ({@link #checkpoint}, {@link #count},
     * {@link #applyMore}) or a rollback. The default applies at once.
     */
    default Map<TableId, TableCounts> applyBeforeCheckpoint(Connection tx, ChangeBatch batch, boolean rowAtATime) throws SQLException {
        return apply(tx, batch, rowAtATime);
    }

    /**
     * Works out ahead, without the shadow, what {@link #apply} of the same batch (the same object)
     * would otherwise work out when it is its turn; from another thread than the one applying, one
     * batch at a time. The default does nothing.
     */
    default void prepare(ChangeBatch batch) {
    }

    /** Applies more changes after the batch's own, in its transaction, with the shapes it reached (a resumed table's held changes). */
    Map<TableId, TableCounts> applyMore(Connection tx, List<ChangeEvent> events, boolean rowAtATime) throws SQLException;

    /**
     * Applies a batch one change at a time, each under a savepoint: a change the shadow rejects is
     * rolled back alone and handed to {@code rejected}, the rest goes on (errors.tolerance: all).
     * Faults that may go away are rethrown: the batch is retried.
     */
    Map<TableId, TableCounts> applyEach(Connection tx, ChangeBatch batch, Rejected rejected) throws SQLException;

    /** Adds rows written to the per-table counts without moving the checkpoint, in {@code tx}. */
    void count(Connection tx, Map<TableId, TableCounts> counts) throws SQLException;

    /** Moves the checkpoint to {@code position} and adds the counts, in {@code tx}. */
    void checkpoint(Connection tx, String slot, SourcePosition position, Map<TableId, TableCounts> counts) throws SQLException;

    /** Told once the transaction of the last apply committed: the schema changes it met are now the shadow's. */
    void committed();

    /** Starts tracking a table copied to the shadow while the pipeline runs; its changes follow in the stream. */
    void join(TableSpec spec);

    /** Receives a change the shadow rejected, with the reason. */
    interface Rejected {
        void accept(ChangeEvent change, String error) throws SQLException;
    }

    /**
     * A bulk load in progress: rows in COPY's format, written in any slices (a buffer of many rows
     * or one row); nothing is visible until {@link #end} and the transaction's commit.
     */
    interface RowCopy {
        void write(byte[] data, int offset, int length) throws SQLException;

        /** Ends the load; returns the rows the shadow took. */
        long end() throws SQLException;

        /** Abandons the load (its rows are gone); harmless when it already ended. */
        void cancel() throws SQLException;
    }
}
