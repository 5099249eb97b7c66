package dev.scry.backfill.model;

import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The values of one row, each in PostgreSQL's text form (what {@code value::text} prints; bytea as
 * {@code \x...} hex), so that the shadow can cast it back to the column's exact type.
 * {@code null} is SQL NULL. A column marked {@linkplain #isUnchanged unchanged} carries no value:
 * PostgreSQL did not send it (an unchanged TOASTed value in an update) and the shadow must keep
 * what it has.
 *
 * <p>The arrays are owned by the image once constructed; callers must not change them.
 */
public final class RowImage {

    private final List<String> columns;
    private final String[] values;
    private final BitSet unchanged;
    private final long bytes;
    private List<String> sourceTypes;

    /**
     * @param sourceTypes per column, the source type name the change stream describes it with
     *                    ({@code int4}, {@code varchar}; shared by every row of one layout), or null
     */
    public RowImage(List<String> columns, String[] values, BitSet unchanged, List<String> sourceTypes) {
        this(columns, values, unchanged);
        this.sourceTypes = sourceTypes;
    }

    public RowImage(List<String> columns, String[] values, BitSet unchanged) {
        if (columns.size() != values.length) {
            throw new IllegalArgumentException("row has " + columns.size() + " columns but " + values.length + " values");
        }
        this.columns = columns;
        this.values = values;
        this.unchanged = unchanged == null ? new BitSet(0) : unchanged;
        for (int i = this.unchanged.nextSetBit(0); i >= 0; i = this.unchanged.nextSetBit(i + 1)) {
            if (i >= values.length || values[i] != null) {
                throw new IllegalArgumentException("unchanged column " + i + " must not carry a value");
            }
        }
        // Counted here, on the thread that decodes the row, not on the one that applies its batch
        // (the throttle sizes every batch), whose time the shadow waits for.
        long size = 0;
        for (String v : values) {
            size += v == null ? 1 : v.length();
        }
        bytes = size;
    }

    /** The stream's type name per column (see the constructor), or null when unknown. */
    public List<String> sourceTypes() {
        return sourceTypes;
    }

    public List<String> columns() {
        return columns;
    }

    public int size() {
        return values.length;
    }

    public String column(int i) {
        return columns.get(i);
    }

    public String value(int i) {
        return values[i];
    }

    public String value(String column) {
        int i = columns.indexOf(column);
        if (i < 0) {
            throw new IllegalArgumentException("row has no column " + column);
        }
        return values[i];
    }

    public boolean isUnchanged(int i) {
        return unchanged.get(i);
    }

    public boolean hasUnchanged() {
        return !unchanged.isEmpty();
    }

    /** Indexes of the columns that carry a value (all of them unless some are unchanged). */
    public BitSet presentColumns() {
        BitSet present = new BitSet(values.length);
        present.set(0, values.length);
        present.andNot(unchanged);
        return present;
    }

    /** Approximate size in bytes of the values, for byte-rate limits and batch statistics. */
    public long approximateBytes() {
        return bytes;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RowImage other && columns.equals(other.columns)
                && Arrays.equals(values, other.values) && unchanged.equals(other.unchanged);
    }

    @Override
    public int hashCode() {
        return columns.hashCode() * 31 + Arrays.hashCode(values);
    }

    /** Lists column names only: row values never go to logs. */
    @Override
    public String toString() {
        return "RowImage" + columns;
    }
}
