package dev.scry.backfill.app.verify;

import java.sql.SQLException;
import java.util.List;
import java.util.Map;

/**
 * One side of a table's comparison: what the shadow holds, or what the source says it should
 * hold. Both sides digest the same text for a row (its shadow columns as {@code ROW(...)::text})
 * and bucket rows by the same text of their key, so that any two sides can be compared.
 */
interface Side {

    /** Buckets rows fall into by their key's text. */
    int BUCKETS = 256;

    /** Count and order-independent digest of a table or of one bucket. */
    record Sum(long rows, String digest) {
    }

    /**
     * One row of a differing bucket: the text of each of its key columns (empty for a table
     * without a key) and the md5 of its row text (joined with "+" for a keyless table's duplicates).
     */
    record Row(List<String> key, String md5) {
    }

    Sum total() throws SQLException;

    /** The rows per bucket, as of the last {@link #total()} or read afresh. */
    Map<Integer, Sum> buckets() throws SQLException;

    /** Key text (a row's text, without a key) to the rows in the given buckets. */
    Map<String, Row> rows(List<Integer> buckets) throws SQLException;

    /** The rows whose key text (see {@link RowText#record}) is one of {@code keys}. */
    Map<String, Row> rows(java.util.Set<String> keys) throws SQLException;
}
