package dev.scry.backfill.source;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import dev.scry.backfill.error.PipelineFailure;

/**
 * Reads the messages of PostgreSQL's {@code pgoutput} plugin, protocol version 1 (PostgreSQL
 * documentation, "Logical Replication Message Formats"), and hands each to a {@link Handler}.
 * Values arrive in their type's text form, as the server's output function prints it and
 * converted to the connection's client encoding (UTF-8), which is exactly what the shadow casts
 * back: no value passes through a Java type on its way.
 */
final class PgOutputDecoder {

    /** Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 00:00 UTC. */
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;

    /** One column of a relation as the stream describes it. */
    record Column(String name, int typeOid, int typeModifier, boolean key) {
    }

    /** A relation's description, sent before its first change in a session and after each change of its definition. */
    record Relation(int id, String namespace, String name, char replicaIdentity, List<Column> columns) {
        Relation {
            columns = List.copyOf(columns);
        }
    }

    /**
     * One row's values in the relation's column order: text, or null for SQL NULL. A column in
     * {@code unchanged} was not sent (a TOASTed value an UPDATE left as it was) and has no value.
     */
    record Tuple(String[] values, BitSet unchanged) {
    }

    /** What the stream says, one call per message. */
    interface Handler {
        void begin(long finalLsn, long commitMicros, long xid);

        void commit(long commitLsn, long endLsn, long commitMicros);

        void relation(Relation relation);

        void type(int oid, String namespace, String name);

        void insert(int relationId, Tuple row);

        /** {@code old} is the key ('K') or the whole old row ('O') when the server sent one, else null. */
        void update(int relationId, char oldKind, Tuple old, Tuple row);

        void delete(int relationId, char oldKind, Tuple old);

        void truncate(int[] relationIds);

        void message(boolean transactional, long lsn, String prefix, byte[] content);
    }

    private PgOutputDecoder() {
    }

    /** Decodes one message; {@code buffer} is positioned at its first byte (the message type). */
    static void decode(ByteBuffer buffer, Handler handler) {
        char type = (char) buffer.get();
        switch (type) {
            case 'B' -> {
                long finalLsn = buffer.getLong();
                long micros = buffer.getLong() + POSTGRES_EPOCH_MICROS;
                long xid = Integer.toUnsignedLong(buffer.getInt());
                handler.begin(finalLsn, micros, xid);
            }
            case 'C' -> {
                buffer.get(); // flags, unused
                long commitLsn = buffer.getLong();
                long endLsn = buffer.getLong();
                long micros = buffer.getLong() + POSTGRES_EPOCH_MICROS;
                handler.commit(commitLsn, endLsn, micros);
            }
            case 'R' -> handler.relation(relation(buffer));
            case 'Y' -> {
                int oid = buffer.getInt();
                String namespace = string(buffer);
                String name = string(buffer);
                handler.type(oid, namespace, name);
            }
            case 'I' -> {
                int relationId = buffer.getInt();
                expect(buffer, 'N', "INSERT");
                handler.insert(relationId, tuple(buffer));
            }
            case 'U' -> {
                int relationId = buffer.getInt();
                char kind = (char) buffer.get();
                Tuple old = null;
                char oldKind = 0;
                if (kind == 'K' || kind == 'O') {
                    oldKind = kind;
                    old = tuple(buffer);
                    kind = (char) buffer.get();
                }
                if (kind != 'N') {
                    throw malformed("UPDATE", "expected 'N' before the new row, got '" + kind + "'");
                }
                handler.update(relationId, oldKind, old, tuple(buffer));
            }
            case 'D' -> {
                int relationId = buffer.getInt();
                char kind = (char) buffer.get();
                if (kind != 'K' && kind != 'O') {
                    throw malformed("DELETE", "expected 'K' or 'O', got '" + kind + "'");
                }
                handler.delete(relationId, kind, tuple(buffer));
            }
            case 'T' -> {
                int count = buffer.getInt();
                buffer.get(); // options (CASCADE, RESTART IDENTITY): the shadow empties exactly the tables named
                int[] ids = new int[count];
                for (int i = 0; i < count; i++) {
                    ids[i] = buffer.getInt();
                }
                handler.truncate(ids);
            }
            case 'M' -> {
                boolean transactional = (buffer.get() & 1) != 0;
                long lsn = buffer.getLong();
                String prefix = string(buffer);
                byte[] content = new byte[buffer.getInt()];
                buffer.get(content);
                handler.message(transactional, lsn, prefix, content);
            }
            case 'O' -> {
                // Origin of a transaction replicated into the source from elsewhere: its changes are
                // the source's own as far as the shadow is concerned.
            }
            default -> throw malformed("message", "unknown message type '" + type + "'");
        }
    }

    private static Relation relation(ByteBuffer buffer) {
        int id = buffer.getInt();
        String namespace = string(buffer);
        String name = string(buffer);
        char identity = (char) buffer.get();
        int count = buffer.getShort();
        List<Column> columns = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            boolean key = (buffer.get() & 1) != 0;
            String column = string(buffer);
            int typeOid = buffer.getInt();
            int typeModifier = buffer.getInt();
            columns.add(new Column(column, typeOid, typeModifier, key));
        }
        return new Relation(id, namespace, name, identity, columns);
    }

    private static Tuple tuple(ByteBuffer buffer) {
        int count = buffer.getShort();
        String[] values = new String[count];
        BitSet unchanged = null;
        for (int i = 0; i < count; i++) {
            char kind = (char) buffer.get();
            switch (kind) {
                case 'n' -> values[i] = null;
                case 'u' -> {
                    if (unchanged == null) {
                        unchanged = new BitSet(count);
                    }
                    unchanged.set(i);
                }
                case 't' -> {
                    int length = buffer.getInt();
                    values[i] = text(buffer, length);
                }
                default -> throw malformed("row", "unknown column kind '" + kind + "' (binary format is not requested)");
            }
        }
        return new Tuple(values, unchanged);
    }

    private static String text(ByteBuffer buffer, int length) {
        String s;
        if (buffer.hasArray()) {
            s = new String(buffer.array(), buffer.arrayOffset() + buffer.position(), length, StandardCharsets.UTF_8);
            buffer.position(buffer.position() + length);
        }
        else {
            byte[] bytes = new byte[length];
            buffer.get(bytes);
            s = new String(bytes, StandardCharsets.UTF_8);
        }
        return s;
    }

    private static String string(ByteBuffer buffer) {
        int start = buffer.position();
        int end = start;
        while (buffer.get(end) != 0) {
            end++;
        }
        String s = text(buffer, end - start);
        buffer.get(); // the terminating zero
        return s;
    }

    private static void expect(ByteBuffer buffer, char wanted, String message) {
        char got = (char) buffer.get();
        if (got != wanted) {
            throw malformed(message, "expected '" + wanted + "', got '" + got + "'");
        }
    }

    private static PipelineFailure malformed(String what, String detail) {
        return new PipelineFailure("the replication stream sent a malformed pgoutput " + what + ": " + detail
                + "; the source server may speak a newer protocol than this version reads");
    }
}
