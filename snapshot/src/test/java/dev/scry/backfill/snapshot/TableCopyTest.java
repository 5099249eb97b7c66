package dev.scry.backfill.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class TableCopyTest {

    private static final byte[] HEADER = concat("PGCOPY\n".getBytes(StandardCharsets.US_ASCII), new byte[] {(byte) 0xFF, '\r', '\n', 0},
            new byte[8]);
    private static final byte[] TRAILER = {(byte) 0xFF, (byte) 0xFF};
    private static final byte[] ROW = {0, 1, 0, 0, 0, 4, 0, 0, 0, 42};

    @Test
    void binaryMessagesAreCountedAsRowsOnlyWhenTheyHoldOne() {
        assertThat(HEADER).hasSize(19);
        assertThat(TableCopy.isBinaryRow(concat(HEADER, ROW))).as("header and the first row").isTrue();
        assertThat(TableCopy.isBinaryRow(ROW)).isTrue();
        assertThat(TableCopy.isBinaryRow(TRAILER)).as("trailer").isFalse();
        assertThat(TableCopy.isBinaryRow(concat(HEADER, TRAILER))).as("an empty table: header and trailer").isFalse();
        assertThat(TableCopy.isBinaryRow(HEADER)).as("header alone").isFalse();
        assertThat(TableCopy.isBinaryRow(new byte[] {0, 0})).as("a row of no columns").isTrue();
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
