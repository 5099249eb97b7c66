package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableControl;
import dev.scry.backfill.model.TableId;

/**
 * Work the pgoutput reader does where this process's watermarks come out of the stream: the
 * chunk-with-watermarks method (DBLog; Debezium's incremental snapshots) that copies a table, or
 * some of its rows, while the stream runs and writers never wait, and the table actions that must
 * happen at one position of the stream (pause, resume, removal).
 *
 * <p>A watermark is a transactional logical-decoding message ({@link #PREFIX}) naming this
 * pipeline and an action registered here; the slot delivers it after every transaction committed
 * before it. Its action runs on the reader thread at that point and emits, inside the watermark's
 * own transaction, changes and {@link TableControl}s, which the sink commits with the checkpoint:
 * exactly once. A watermark whose action is unknown (written by a run that has since ended) does
 * nothing; whoever wrote it tries again.
 *
 * <p>A copy: a start watermark begins recording, for the table, which keys the stream changes
 * and in which source transaction. Each chunk of rows is read in a transaction of its own under a
 * snapshot S ({@link XidSnapshot}), and a watermark H written after the read. When H comes out of
 * the stream, every transaction S saw has come out before it (each committed before S was taken,
 * H after). For each row of the chunk: when a transaction S did not see changed its key before H,
 * the stream's version is newer and the row is left out (if that transaction's first change of it
 * was a whole row, a delete or an insert; if it was an update that left values unsent, unchanged
 * TOAST, the key is read again later); otherwise the row is the key's latest state before H and is
 * applied there, as a READ that the sink upserts. A truncate S did not see drops the whole chunk.
 * Recorded changes S saw are forgotten once H is passed. The one transaction the recording can
 * miss is one whose commit came out of the stream before the start watermark and that S still
 * did not see (still leaving the server's list of running transactions): such a chunk is read
 * again, which the xids of the last transactions before the start tell.
 */
public final class Watermarks {

    /** The prefix of watermark messages; other consumers of the slot can ignore them. */
    public static final String PREFIX = SourceAdmin.MARKER_PREFIX + "-watermark";
    private static final int RECENT = 8192;
    /** The detail of a copy's start that says the shadow table is emptied there. */
    public static final String EMPTY = "empty";

    /** What a watermark's action did, known once its controls are committed on the shadow. */
    public record Outcome(boolean retry, long applied, long dropped, List<List<String>> requeued) {
        static final Outcome DONE = new Outcome(false, 0, 0, List.of());
    }

    /**
     * Rows read under one snapshot, to be applied where their watermark comes out of the stream.
     *
     * @param columns     the columns read, in order (one list for every chunk of a copy)
     * @param sourceTypes each column's type name as the stream names it
     * @param keyColumns  the table's key columns
     * @param rows        the rows' values as text
     * @param requested   for a chunk of keys (a repair): the keys asked for, in the key columns'
     *                    text; a key without a row is deleted. Null for a chunk of a range
     * @param deleteFirst whether each row is preceded by a delete of its key (where a filter may
     *                    leave the row out, its old version must still go)
     * @param details     what the chunk's control records (a cursor)
     */
    public record Chunk(TableId table, List<String> columns, List<String> sourceTypes, List<String> keyColumns, List<String[]> rows,
                        List<List<String>> requested, boolean deleteFirst, XidSnapshot snapshot, Map<String, Object> details) {
    }

    /** A registered watermark: write its {@link #content()} with {@link #write}, then wait for {@link #done()}. */
    public static final class Mark {
        private final String id;
        private final String content;
        private final CompletableFuture<Outcome> done = new CompletableFuture<>();
        private final Action action;
        private volatile Outcome outcome = Outcome.DONE;

        private Mark(String id, String content, Action action) {
            this.id = id;
            this.content = content;
            this.action = action;
        }

        public String content() {
            return content;
        }

        /** Completes once the watermark's controls are committed on the shadow (or it asks for a retry). */
        public CompletableFuture<Outcome> done() {
            return done;
        }

        /** Waits until {@link #done()}: the stream brings the watermark once it has applied everything before it. */
        public Outcome await() throws InterruptedException {
            try {
                return done.get();
            }
            catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("watermark " + id + " failed", e.getCause());
            }
        }
    }

    /** What a watermark emits, inside its transaction. */
    record Reached(List<ChangeEvent> changes, List<TableControl> controls) {
    }

    private interface Action {
        Reached at(Mark mark);
    }

    private final String pipeline;
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final AtomicLong sequence = new AtomicLong();
    private final Map<String, Mark> pending = new ConcurrentHashMap<>();
    private final Set<TableId> removed = ConcurrentHashMap.newKeySet();
    // Copies given up (a failed read): their recording ends at the reader's next change.
    private final Set<TableId> abandoned = ConcurrentHashMap.newKeySet();
    // The reader thread's alone.
    private final Map<TableId, KeyRecording> recordings = new HashMap<>();
    private final int[] recent = new int[RECENT];
    private int recentCount;

    public Watermarks(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Tables removed from the pipeline: their changes still in the stream are ignored. */
    public void removed(java.util.Collection<TableId> tables) {
        removed.addAll(tables);
    }

    /** A table added again: its changes count from its start watermark on. */
    public void added(TableId table) {
        removed.remove(table);
    }

    /**
     * Begins a copy of {@code table} by chunks; with {@code empty} the shadow table is emptied at
     * the watermark (by the sink, with the control: {@link TableControl.Action#COPY_STARTED}).
     */
    public Mark startCopy(TableId table, List<String> keyColumns, boolean empty, Map<String, Object> details) {
        Map<String, Object> withEmpty = new LinkedHashMap<>(details);
        withEmpty.put(EMPTY, empty);
        return register(mark -> {
            abandoned.remove(table);
            recordings.put(table, new KeyRecording(keyColumns, recentXids()));
            removed.remove(table);
            return new Reached(List.of(), List.of(new TableControl(mark.id, table, TableControl.Action.COPY_STARTED, withEmpty)));
        });
    }

    public Mark chunk(Chunk chunk) {
        return register(mark -> applyChunk(mark, chunk));
    }

    public Mark finishCopy(TableId table, Map<String, Object> details) {
        return register(mark -> {
            recordings.remove(table);
            return new Reached(List.of(), List.of(new TableControl(mark.id, table, TableControl.Action.COPY_FINISHED, details)));
        });
    }

    public Mark pause(TableId table) {
        return control(table, TableControl.Action.PAUSED);
    }

    public Mark resume(TableId table) {
        return control(table, TableControl.Action.RESUMED);
    }

    public Mark remove(TableId table) {
        return register(mark -> {
            removed.add(table);
            recordings.remove(table);
            return new Reached(List.of(), List.of(new TableControl(mark.id, table, TableControl.Action.REMOVED, Map.of())));
        });
    }

    private Mark control(TableId table, TableControl.Action action) {
        return register(mark -> new Reached(List.of(), List.of(new TableControl(mark.id, table, action, Map.of()))));
    }

    private Mark register(Action action) {
        String id = run + "-" + sequence.incrementAndGet();
        Mark mark = new Mark(id, pipeline + ":" + id, action);
        pending.put(id, mark);
        return mark;
    }

    /** Writes the watermark into the source's WAL, in a transaction of its own; returns where it is. */
    public static Lsn write(Connection source, Mark mark) throws SQLException {
        if (SourceServer.of(source).standby()) {
            throw new dev.scry.backfill.error.SetupException("a table cannot be copied, paused or removed while the pipeline streams"
                    + " from a standby: the watermarks that place it in the stream are messages written to the source's WAL, and a"
                    + " standby writes nothing. Point source.host at the primary for it, or stop the daemon and change `tables`");
        }
        try (PreparedStatement ps = source.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)::text")) {
            ps.setString(1, PREFIX);
            ps.setString(2, mark.content);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return Lsn.parse(rs.getString(1));
            }
        }
    }

    /** A copy stopped before its finish watermark: the stream stops recording the table's keys for it. */
    public void abandon(TableId table) {
        abandoned.add(table);
    }

    /** The caller gives up on a mark (it could not write it); a late arrival does nothing. */
    public void forget(Mark mark) {
        pending.remove(mark.id);
    }

    /** After the shadow committed a batch: whoever wrote its controls' watermarks learns the outcome. */
    public void committed(List<TableControl> controls) {
        for (TableControl control : controls) {
            Mark mark = pending.remove(control.id());
            if (mark != null) {
                mark.done.complete(mark.outcome);
            }
        }
    }

    // --- the reader thread's side ---

    /** Whether changes to the table are ignored: it was removed from the pipeline. */
    public boolean ignores(TableId table) {
        return removed.contains(table);
    }

    /** A transaction came out of the stream whole. */
    void streamed(int xid) {
        recent[recentCount++ % RECENT] = xid;
    }

    /** A change of transaction {@code xid}, in stream order: recorded while its table is being copied. */
    void changed(ChangeEvent change, int xid) {
        if (!abandoned.isEmpty() && abandoned.remove(change.table())) {
            recordings.remove(change.table());
        }
        KeyRecording recording = recordings.get(change.table());
        if (recording != null && change.op() != Op.READ) {
            recording.record(change, xid);
        }
    }

    /** A watermark message of {@code content}; null when it is not this run's. */
    Reached reached(String content) {
        int colon = content.lastIndexOf(':');
        if (colon < 0 || !content.substring(0, colon).equals(pipeline)) {
            return null;
        }
        Mark mark = pending.get(content.substring(colon + 1));
        if (mark == null) {
            return null;
        }
        Reached reached = mark.action.at(mark);
        if (reached.controls().isEmpty()) {
            pending.remove(mark.id);
            mark.done.complete(mark.outcome);
        }
        return reached;
    }

    private Set<Integer> recentXids() {
        Set<Integer> out = new HashSet<>();
        for (int i = 0; i < Math.min(recentCount, RECENT); i++) {
            out.add(recent[i]);
        }
        return out;
    }

    private Reached applyChunk(Mark mark, Chunk chunk) {
        KeyRecording recording = recordings.get(chunk.table());
        XidSnapshot s = chunk.snapshot();
        if (recording == null || recording.missesEarlier(s)) {
            // Not recording (the copy's start was not this run's), or a transaction the stream
            // delivered before the recording began is still invisible to the read: read it again.
            mark.outcome = new Outcome(true, 0, 0, List.of());
            return new Reached(List.of(), List.of());
        }
        boolean truncated = recording.truncatedSince(s);
        int[] keyIndexes = chunk.keyColumns().stream().mapToInt(chunk.columns()::indexOf).toArray();
        Map<List<String>, String[]> byKey = new LinkedHashMap<>();
        for (String[] row : chunk.rows()) {
            byKey.put(key(row, keyIndexes), row);
        }
        List<List<String>> keys = chunk.requested() != null ? chunk.requested() : new ArrayList<>(byKey.keySet());
        List<ChangeEvent> changes = new ArrayList<>();
        List<List<String>> requeued = new ArrayList<>();
        long applied = 0;
        long dropped = 0;
        for (List<String> key : keys) {
            KeyRecording.Verdict verdict = truncated ? KeyRecording.Verdict.STREAM : recording.verdict(key, s);
            if (verdict == KeyRecording.Verdict.AGAIN) {
                requeued.add(key);
                continue;
            }
            if (verdict == KeyRecording.Verdict.STREAM) {
                dropped++;
                continue;
            }
            String[] row = byKey.get(key);
            if (row == null || chunk.deleteFirst()) {
                changes.add(new ChangeEvent(chunk.table(), Op.DELETE, new RowImage(chunk.keyColumns(), key.toArray(String[]::new), null), null));
            }
            if (row != null) {
                changes.add(new ChangeEvent(chunk.table(), Op.READ, null, new RowImage(chunk.columns(), row, null, chunk.sourceTypes())));
            }
            applied++;
        }
        recording.forgetSeenBy(s);
        mark.outcome = new Outcome(false, applied, dropped, requeued);
        Map<String, Object> details = new LinkedHashMap<>(chunk.details());
        details.put("rows", applied);
        return new Reached(changes, List.of(new TableControl(mark.id, chunk.table(), TableControl.Action.CHUNK_COPIED, details)));
    }

    private static List<String> key(String[] row, int[] indexes) {
        String[] key = new String[indexes.length];
        for (int i = 0; i < indexes.length; i++) {
            key[i] = row[indexes[i]];
        }
        return Arrays.asList(key);
    }
}
