package dev.scry.backfill.sink;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.flatbuffers.FlexBuffers;
import com.google.flatbuffers.FlexBuffersBuilder;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;

/**
 * A change as FlexBuffers, schema-less and about half the size of the same change as JSON:
 * {@code {schema, table, op, key: {column: text|null}, after: {column: text|null}, unchanged: [column]}}.
 * Values are PostgreSQL text, as everywhere in the pipeline, so a decoded change applies exactly.
 */
public final class DeadLetterCodec {

    private static final ObjectMapper JSON = new ObjectMapper();

    private DeadLetterCodec() {
    }

    public static byte[] encode(ChangeEvent e) {
        FlexBuffersBuilder b = new FlexBuffersBuilder(512);
        int root = b.startMap();
        b.putString("schema", e.table().schema());
        b.putString("table", e.table().name());
        b.putString("op", e.op().name());
        if (e.key() != null) {
            putRow(b, "key", e.key());
        }
        if (e.after() != null) {
            putRow(b, "after", e.after());
            if (e.after().hasUnchanged()) {
                int v = b.startVector();
                for (int i = 0; i < e.after().size(); i++) {
                    if (e.after().isUnchanged(i)) {
                        b.putString(e.after().column(i));
                    }
                }
                b.endVector("unchanged", v, false, false);
            }
        }
        b.endMap(null, root);
        ByteBuffer buf = b.finish();
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    private static void putRow(FlexBuffersBuilder b, String name, RowImage row) {
        int m = b.startMap();
        for (int i = 0; i < row.size(); i++) {
            if (row.isUnchanged(i) || row.value(i) == null) {
                b.putNull(row.column(i));
            }
            else {
                b.putString(row.column(i), row.value(i));
            }
        }
        b.endMap(name, m);
    }

    public static ChangeEvent decode(byte[] bytes) {
        FlexBuffers.Map map = FlexBuffers.getRoot(ByteBuffer.wrap(bytes)).asMap();
        TableId table = new TableId(map.get("schema").asString(), map.get("table").asString());
        Op op = Op.valueOf(map.get("op").asString());
        List<String> unchanged = new ArrayList<>();
        FlexBuffers.Reference u = map.get("unchanged");
        if (u.isVector()) {
            FlexBuffers.Vector v = u.asVector();
            for (int i = 0; i < v.size(); i++) {
                unchanged.add(v.get(i).asString());
            }
        }
        RowImage key = row(map.get("key"), List.of());
        RowImage after = row(map.get("after"), unchanged);
        return op == Op.TRUNCATE ? ChangeEvent.truncate(table) : new ChangeEvent(table, op, key, after);
    }

    private static RowImage row(FlexBuffers.Reference ref, List<String> unchanged) {
        if (!ref.isMap()) {
            return null;
        }
        FlexBuffers.Map m = ref.asMap();
        FlexBuffers.KeyVector keys = m.keys();
        List<String> columns = new ArrayList<>();
        String[] values = new String[keys.size()];
        BitSet marks = new BitSet();
        for (int i = 0; i < keys.size(); i++) {
            String column = keys.get(i).toString();
            columns.add(column);
            FlexBuffers.Reference v = m.get(column);
            values[i] = v.isNull() ? null : v.asString();
            if (unchanged.contains(column)) {
                marks.set(i);
            }
        }
        return new RowImage(columns, values, marks.isEmpty() ? null : marks);
    }

    /** The same change as JSON, for comparing sizes and for showing it to people. */
    public static String json(ChangeEvent e) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("schema", e.table().schema());
        doc.put("table", e.table().name());
        doc.put("op", e.op().name());
        if (e.key() != null) {
            doc.put("key", rowMap(e.key()));
        }
        if (e.after() != null) {
            doc.put("after", rowMap(e.after()));
            List<String> unchanged = new ArrayList<>();
            for (int i = 0; i < e.after().size(); i++) {
                if (e.after().isUnchanged(i)) {
                    unchanged.add(e.after().column(i));
                }
            }
            if (!unchanged.isEmpty()) {
                doc.put("unchanged", unchanged);
            }
        }
        try {
            return JSON.writeValueAsString(doc);
        }
        catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static Map<String, Object> rowMap(RowImage row) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < row.size(); i++) {
            m.put(row.column(i), row.isUnchanged(i) ? null : row.value(i));
        }
        return m;
    }
}
