package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;

/**
 * The checkpoint (the position the shadow has reached) and the per-table counts of rows applied,
 * in the {@link MetadataSchema}. Writes happen inside the caller's transaction: the sink commits a
 * batch's rows and its checkpoint together, which is what makes a crash at any instant resume
 * exactly after the last committed batch.
 */
public final class CheckpointStore {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {
    };

    private static final String WRITE_CHECKPOINT = """
            INSERT INTO scry_backfill.checkpoint AS c (pipeline, slot, phase, lsn, source_offset, batches,
                                                       snapshot_started_at, snapshot_completed_at, updated_at)
            VALUES (?, ?, ?, ?::pg_lsn, ?::jsonb, 1,
                    CASE WHEN ? = 'snapshot' THEN clock_timestamp() END, NULL, clock_timestamp())
            ON CONFLICT (pipeline) DO UPDATE SET
              slot = EXCLUDED.slot,
              phase = EXCLUDED.phase,
              lsn = EXCLUDED.lsn,
              source_offset = EXCLUDED.source_offset,
              batches = c.batches + 1,
              snapshot_started_at = CASE
                WHEN c.snapshot_started_at IS NULL AND EXCLUDED.phase = 'snapshot' THEN clock_timestamp()
                ELSE c.snapshot_started_at END,
              snapshot_completed_at = CASE
                WHEN c.phase = 'snapshot' AND EXCLUDED.phase = 'streaming' THEN clock_timestamp()
                ELSE c.snapshot_completed_at END,
              updated_at = clock_timestamp()""";

    private static final String WRITE_PROGRESS = """
            INSERT INTO scry_backfill.table_progress AS p
              (pipeline, schema_name, table_name, snapshot_rows, inserts, updates, deletes, truncates, updated_at)
            SELECT ?, u.s, u.t, u.sr, u.i, u.u, u.d, u.tr, clock_timestamp()
            FROM unnest(?::text[], ?::text[], ?::int8[], ?::int8[], ?::int8[], ?::int8[], ?::int8[]) AS u(s, t, sr, i, u, d, tr)
            ON CONFLICT (pipeline, schema_name, table_name) DO UPDATE SET
              snapshot_rows = p.snapshot_rows + EXCLUDED.snapshot_rows,
              inserts = p.inserts + EXCLUDED.inserts,
              updates = p.updates + EXCLUDED.updates,
              deletes = p.deletes + EXCLUDED.deletes,
              truncates = p.truncates + EXCLUDED.truncates,
              updated_at = clock_timestamp()""";

    // Both in one statement: one round trip less per batch (a data-modifying WITH always runs whole).
    private static final String WRITE_CHECKPOINT_AND_PROGRESS = "WITH checkpoint AS (" + WRITE_CHECKPOINT + " RETURNING 1)\n" + WRITE_PROGRESS;

    private final String pipeline;

    public CheckpointStore(String pipeline) {
        this.pipeline = pipeline;
    }

    public String pipeline() {
        return pipeline;
    }

    public Optional<Checkpoint> read(Connection c) throws SQLException {
        if (!MetadataSchema.exists(c)) {
            return Optional.empty();
        }
        String sql = """
                SELECT slot, phase, lsn::text, source_offset::text, batches, updated_at, snapshot_started_at, snapshot_completed_at
                FROM scry_backfill.checkpoint WHERE pipeline = ?""";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                String offset = rs.getString(4);
                return Optional.of(new Checkpoint(pipeline, rs.getString(1), Phase.fromLabel(rs.getString(2)), Lsn.parse(rs.getString(3)),
                        offset == null ? Optional.empty() : Optional.of(parse(offset)), rs.getLong(5),
                        instant(rs.getTimestamp(6)), instant(rs.getTimestamp(7)), instant(rs.getTimestamp(8))));
            }
        }
    }

    /** Writes the checkpoint and adds the batch's counts, in the caller's open transaction. */
    public void write(Connection c, String slot, SourcePosition position, Map<TableId, TableCounts> counts) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(writing(counts))) {
            bindWriting(c, ps, 1, slot, position, counts);
            ps.executeUpdate();
        }
    }

    /**
     * The statement {@link #write} runs, for a caller that sends it together with others (see
     * {@link #bindWriting}); it changes one row.
     */
    public String writing(Map<TableId, TableCounts> counts) {
        return counts.isEmpty() ? WRITE_CHECKPOINT : WRITE_CHECKPOINT_AND_PROGRESS;
    }

    /** Binds {@link #writing}'s parameters, the first of them at {@code first}; returns the index after its last. */
    public int bindWriting(Connection c, PreparedStatement ps, int first, String slot, SourcePosition position,
                           Map<TableId, TableCounts> counts) throws SQLException {
        ps.setString(first, pipeline);
        ps.setString(first + 1, slot);
        ps.setString(first + 2, position.phase().label());
        ps.setString(first + 3, position.lsn().toString());
        ps.setString(first + 4, json(position.offset()));
        ps.setString(first + 5, position.phase().label());
        if (counts.isEmpty()) {
            return first + 6;
        }
        return bindCounts(c, ps, first + 6, counts);
    }

    /** Adds rows applied to the per-table counts without moving the checkpoint, in the caller's transaction. */
    public void addCounts(Connection c, Map<TableId, TableCounts> counts) throws SQLException {
        writeCounts(c, counts);
    }

    private void writeCounts(Connection c, Map<TableId, TableCounts> counts) throws SQLException {
        if (counts.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(WRITE_PROGRESS)) {
            bindCounts(c, ps, 1, counts);
            ps.executeUpdate();
        }
    }

    /** Binds WRITE_PROGRESS's parameters, the first of them at {@code first}; returns the index after its last. */
    private int bindCounts(Connection c, PreparedStatement ps, int first, Map<TableId, TableCounts> counts) throws SQLException {
        int n = counts.size();
        String[] schemas = new String[n];
        String[] tables = new String[n];
        Long[] snapshot = new Long[n];
        Long[] inserts = new Long[n];
        Long[] updates = new Long[n];
        Long[] deletes = new Long[n];
        Long[] truncates = new Long[n];
        int i = 0;
        for (Map.Entry<TableId, TableCounts> e : counts.entrySet()) {
            schemas[i] = e.getKey().schema();
            tables[i] = e.getKey().name();
            TableCounts t = e.getValue();
            snapshot[i] = t.snapshotRows();
            inserts[i] = t.inserts();
            updates[i] = t.updates();
            deletes[i] = t.deletes();
            truncates[i] = t.truncates();
            i++;
        }
        ps.setString(first, pipeline);
        ps.setArray(first + 1, c.createArrayOf("text", schemas));
        ps.setArray(first + 2, c.createArrayOf("text", tables));
        ps.setArray(first + 3, c.createArrayOf("int8", snapshot));
        ps.setArray(first + 4, c.createArrayOf("int8", inserts));
        ps.setArray(first + 5, c.createArrayOf("int8", updates));
        ps.setArray(first + 6, c.createArrayOf("int8", deletes));
        ps.setArray(first + 7, c.createArrayOf("int8", truncates));
        return first + 8;
    }

    /**
     * Forgets the position and the counts so that the next run starts a fresh snapshot; used when
     * an interrupted snapshot is started over. In the caller's transaction.
     */
    public void resetForNewSnapshot(Connection c, String slot, java.util.List<TableId> tables) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.checkpoint AS c (pipeline, slot, phase, lsn, source_offset, batches, snapshot_started_at, updated_at)
                VALUES (?, ?, 'snapshot', '0/0', NULL, 0, clock_timestamp(), clock_timestamp())
                ON CONFLICT (pipeline) DO UPDATE SET slot = EXCLUDED.slot, phase = 'snapshot', lsn = '0/0', source_offset = NULL,
                  snapshot_started_at = clock_timestamp(), snapshot_completed_at = NULL, updated_at = clock_timestamp()""")) {
            ps.setString(1, pipeline);
            ps.setString(2, slot);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill.table_progress WHERE pipeline = ?")) {
            ps.setString(1, pipeline);
            ps.executeUpdate();
        }
        // A row per table from the start, even for empty tables: a table without one was added to
        // the configuration after the snapshot.
        Map<TableId, TableCounts> zero = new LinkedHashMap<>();
        for (TableId t : tables) {
            zero.put(t, TableCounts.ZERO);
        }
        writeCounts(c, zero);
    }

    /** Rows applied so far per table, in table order. */
    public Map<TableId, TableCounts> progress(Connection c) throws SQLException {
        Map<TableId, TableCounts> out = new LinkedHashMap<>();
        if (!MetadataSchema.exists(c)) {
            return out;
        }
        String sql = """
                SELECT schema_name, table_name, snapshot_rows, inserts, updates, deletes, truncates
                FROM scry_backfill.table_progress WHERE pipeline = ? ORDER BY schema_name, table_name""";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(new TableId(rs.getString(1), rs.getString(2)),
                            new TableCounts(rs.getLong(3), rs.getLong(4), rs.getLong(5), rs.getLong(6), rs.getLong(7)));
                }
            }
        }
        return out;
    }

    static String json(Map<String, Object> offset) {
        try {
            return JSON.writeValueAsString(offset);
        }
        catch (JsonProcessingException e) {
            throw new IllegalArgumentException("offset cannot be written as JSON: " + e.getMessage(), e);
        }
    }

    static Map<String, Object> parse(String json) {
        try {
            return JSON.readValue(json, MAP);
        }
        catch (JsonProcessingException e) {
            throw new IllegalStateException("stored offset is not valid JSON: " + e.getMessage(), e);
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
