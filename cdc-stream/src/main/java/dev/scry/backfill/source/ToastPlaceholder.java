package dev.scry.backfill.source;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * Recognises the value Debezium puts in a column PostgreSQL did not send: an unchanged TOASTed
 * value in an UPDATE (replica identity DEFAULT sends only changed large values). Debezium writes a
 * configurable placeholder there, in a shape that depends on the column type. We pick a fresh
 * random placeholder per run, so no real value can be mistaken for it, and we never write it:
 * such a column is left as the shadow has it.
 */
public final class ToastPlaceholder {

    private final String text;
    private final byte[] bytes;
    private final List<Object> candidates = new ArrayList<>();

    public ToastPlaceholder(String text) {
        this.text = text;
        this.bytes = text.getBytes(StandardCharsets.UTF_8);
        List<Integer> ints = new ArrayList<>();
        List<Long> longs = new ArrayList<>();
        for (byte b : bytes) {
            ints.add((int) b);
            longs.add((long) b);
        }
        // The shapes Debezium's UnchangedToastedPlaceholder gives per column type.
        candidates.add(List.of(text));
        candidates.add(ints);
        candidates.add(longs);
        candidates.add(List.of(UUID.nameUUIDFromBytes(bytes).toString()));
    }

    public static ToastPlaceholder random() {
        byte[] nonce = new byte[12];
        new SecureRandom().nextBytes(nonce);
        return new ToastPlaceholder("__scry_unchanged_toast_" + HexFormat.of().formatHex(nonce));
    }

    /** The value for Debezium's {@code unavailable.value.placeholder}. */
    public String text() {
        return text;
    }

    public boolean matches(Object value) {
        if (value == null) {
            return false;
        }
        if (value instanceof String s) {
            return s.length() == text.length() && s.equals(text);
        }
        if (value instanceof byte[] b) {
            return Arrays.equals(b, bytes);
        }
        if (value instanceof ByteBuffer buffer) {
            return buffer.remaining() == bytes.length && buffer.duplicate().equals(ByteBuffer.wrap(bytes));
        }
        if (value instanceof List<?> list) {
            if (list.size() == 1 && list.get(0) instanceof byte[] b) {
                return Arrays.equals(b, bytes);
            }
            if (list.size() == 1 && list.get(0) instanceof ByteBuffer buffer) {
                return matches(buffer);
            }
            return candidates.contains(list);
        }
        return false;
    }
}
