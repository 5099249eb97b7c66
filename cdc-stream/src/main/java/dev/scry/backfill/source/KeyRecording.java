package dev.scry.backfill.source;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;

/**
 * For one table being copied while the stream runs (see {@link Watermarks}): which keys the
 * stream changed since the copy's start watermark, in which source transaction and whether with
 * a whole row; and the xids of the transactions the stream delivered just before the start. The
 * reader thread's alone.
 */
final class KeyRecording {

    /** What the stream did to a key since a chunk's read. */
    enum Verdict {
        /** Nothing the read did not see: the chunk's row (or its absence) is the key's state. */
        CHUNK,
        /** A transaction the read did not see changed it, with a whole row or a delete first: the stream's version stands. */
        STREAM,
        /** That change was an update that left values unsent (unchanged TOAST): read the key again. */
        AGAIN
    }

    private final List<String> keyColumns;
    private final Set<Integer> before;
    // Per key, in stream order: {xid, 1 when the change carried the whole row or deleted it}.
    private final Map<List<String>, List<long[]>> touches = new HashMap<>();
    private final List<Integer> truncates = new ArrayList<>();

    /** @param before the xids of the last transactions the stream delivered before the start */
    KeyRecording(List<String> keyColumns, Set<Integer> before) {
        this.keyColumns = List.copyOf(keyColumns);
        this.before = before;
    }

    /** A change of transaction {@code xid}, in stream order. */
    void record(ChangeEvent change, int xid) {
        if (change.op() == Op.TRUNCATE) {
            truncates.add(xid);
            return;
        }
        RowImage row = change.op() == Op.DELETE ? change.key() : change.after();
        List<String> key = new ArrayList<>(keyColumns.size());
        for (String column : keyColumns) {
            int i = row.columns().indexOf(column);
            key.add(i < 0 ? null : row.value(i));
        }
        boolean whole = change.op() != Op.UPDATE || !change.after().hasUnchanged();
        touches.computeIfAbsent(key, k -> new ArrayList<>(1)).add(new long[] {xid, whole ? 1 : 0});
    }

    /**
     * Whether a read under {@code s} missed a transaction the stream delivered before the
     * recording began (its changes are in neither the recording nor the read): read it again.
     */
    boolean missesEarlier(XidSnapshot s) {
        return before.stream().anyMatch(s.running()::contains);
    }

    /** Whether a TRUNCATE the read did not see came out of the stream: the whole chunk is older than the stream. */
    boolean truncatedSince(XidSnapshot s) {
        return truncates.stream().anyMatch(x -> !s.visible(x));
    }

    /** The first change to the key that a read under {@code s} did not see decides. */
    Verdict verdict(List<String> key, XidSnapshot s) {
        List<long[]> changes = touches.get(key);
        if (changes != null) {
            for (long[] change : changes) {
                if (!s.visible((int) change[0])) {
                    return change[1] == 1 ? Verdict.STREAM : Verdict.AGAIN;
                }
            }
        }
        return Verdict.CHUNK;
    }

    /** Changes a read saw are in every later read's snapshot too: no later decision needs them. */
    void forgetSeenBy(XidSnapshot s) {
        for (Iterator<List<long[]>> it = touches.values().iterator(); it.hasNext(); ) {
            List<long[]> changes = it.next();
            changes.removeIf(t -> s.visible((int) t[0]));
            if (changes.isEmpty()) {
                it.remove();
            }
        }
        truncates.removeIf(s::visible);
    }
}
