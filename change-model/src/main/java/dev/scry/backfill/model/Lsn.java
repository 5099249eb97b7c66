package dev.scry.backfill.model;

/**
 * A position in the source's write-ahead log. PostgreSQL prints it as two hex halves
 * ({@code 16/B374D848}); we keep the 64-bit value and compare unsigned, as the server does.
 */
public record Lsn(long value) implements Comparable<Lsn> {

    public static final Lsn ZERO = new Lsn(0);

    public static Lsn parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("LSN text is null");
        }
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1) {
            throw new IllegalArgumentException("not an LSN (expected XXX/XXX): " + text);
        }
        try {
            long high = Long.parseLong(text.substring(0, slash), 16);
            long low = Long.parseLong(text.substring(slash + 1), 16);
            if (high > 0xFFFFFFFFL || low > 0xFFFFFFFFL || high < 0 || low < 0) {
                throw new IllegalArgumentException("not an LSN (halves exceed 32 bits): " + text);
            }
            return new Lsn((high << 32) | low);
        }
        catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an LSN (expected hex halves): " + text, e);
        }
    }

    /** Bytes of WAL from {@code other} to this position (negative when this one is behind). */
    public long bytesAfter(Lsn other) {
        return value - other.value;
    }

    public boolean isAfter(Lsn other) {
        return compareTo(other) > 0;
    }

    @Override
    public int compareTo(Lsn other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public String toString() {
        return String.format("%X/%X", value >>> 32, value & 0xFFFFFFFFL);
    }
}
