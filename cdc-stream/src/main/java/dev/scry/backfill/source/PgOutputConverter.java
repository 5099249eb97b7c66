package dev.scry.backfill.source;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.ReplicaIdentityFailure;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.model.TableSpec;

/**
 * Turns pgoutput messages into the items the {@link TransactionBatcher} cuts into batches, and
 * keeps the position each item leaves the stream at (see {@link PgOutputPosition}).
 *
 * <p>What it takes care of: a change of a row's key (an UPDATE whose old key differs from the new
 * one) becomes a DELETE of the old key and an INSERT of the new row, so that every later stage
 * sees a key change the way it sees any other; a DELETE carries the key columns only (or, for a
 * table without a key, the whole old row that REPLICA IDENTITY FULL sends); tables the pipeline
 * does not track are skipped; and when the stream resumes inside a transaction that was applied
 * in part, the changes already on the shadow are skipped.
 */
final class PgOutputConverter implements PgOutputDecoder.Handler {

    /** The batcher's acknowledgement handle: the pgoutput reader acknowledges positions, not items. */
    static final Object TICKET = new Object();

    private static final String HEARTBEAT_PREFIX = SourceAdmin.MARKER_PREFIX + "-heartbeat";

    private final Map<TableId, TableSpec> tables;
    private final List<TableSelector> selectors;
    private final Map<Integer, String> typeNames;
    private final Map<Integer, RelationState> relations = new HashMap<>();
    private List<SourceItem<Object>> out;

    // Where the stream stands between transactions.
    private Lsn restart;
    private long commitMicros;
    // A transaction applied in part before this run, to be skipped up to where it was applied.
    private PgOutputPosition.Inside resumeInside;
    // Rows a continued snapshot copied late, whose earlier changes are skipped; null once passed.
    private SnapshotOverlap overlap;
    // The server's timeline, kept in every position (see ServerTimeline).
    private final int timeline;
    // This process's watermarks (table copies while streaming, pauses, removals), or null.
    private final Watermarks watermarks;

    // The transaction being received.
    private boolean inTransaction;
    private String xid;
    private int xidValue;
    private Lsn commitLsn;
    private int message;
    private int messageItems;
    private int skipItems;

    /**
     * @param tables    the tracked tables (live: tables that join while streaming are added by the caller)
     * @param selectors the configured entries, to tell a table that should be tracked but is not yet
     * @param typeNames type names by OID, for the types the stream names; the stream's own type
     *                  messages are added to it
     * @param start     where this run starts
     * @param overlap   a continued snapshot's late parts, or null
     * @param watermarks this process's watermarks, or null
     */
    PgOutputConverter(Map<TableId, TableSpec> tables, List<TableSelector> selectors, Map<Integer, String> typeNames,
                      PgOutputPosition start, SnapshotOverlap overlap, Watermarks watermarks) {
        this.watermarks = watermarks;
        this.tables = tables;
        this.selectors = List.copyOf(selectors);
        this.typeNames = new HashMap<>(typeNames);
        this.restart = start.restart();
        this.commitMicros = start.commitMicros();
        this.resumeInside = start.inside();
        this.timeline = start.timeline();
        this.overlap = overlap != null && overlap.until().isAfter(restart) ? overlap : null;
    }

    /** Decodes one message, adding its items to {@code into}. */
    void convert(ByteBuffer message, List<SourceItem<Object>> into) {
        out = into;
        PgOutputDecoder.decode(message, this);
    }

    boolean insideTransaction() {
        return inTransaction;
    }

    /** The position between transactions: where a resume would start now. */
    Lsn restart() {
        return restart;
    }

    /**
     * The server reported {@code at} with nothing of ours pending before it (a keepalive, or a
     * message outside any transaction): an item that moves the checkpoint there, so that the slot
     * confirms it and the server can recycle the WAL before it.
     */
    SourceItem<Object> heartbeat(Lsn at) {
        if (inTransaction) {
            throw new IllegalStateException("a heartbeat cannot move the position inside a transaction");
        }
        if (at.isAfter(restart)) {
            restart = at;
            // Nothing was pending at this moment: the shadow is as current as the source now.
            commitMicros = System.currentTimeMillis() * 1000;
            if (overlap != null && !overlap.until().isAfter(restart)) {
                overlap = null;
            }
        }
        return SourceItem.of(SourceItem.Kind.HEARTBEAT, here(), TICKET);
    }

    private PgOutputPosition here() {
        return new PgOutputPosition(restart, null, commitMicros, overlapUntil(), timeline);
    }

    private Lsn overlapUntil() {
        return overlap == null ? null : overlap.until();
    }

    @Override
    public void begin(long finalLsn, long micros, long transactionId) {
        if (inTransaction) {
            throw new PipelineFailure("transaction " + transactionId + " began before transaction " + xid
                    + " ended; the change stream is out of order");
        }
        inTransaction = true;
        xid = Long.toString(transactionId);
        xidValue = (int) transactionId;
        commitLsn = new Lsn(finalLsn);
        message = 0;
        if (resumeInside != null && !resumeInside.commitLsn().equals(commitLsn)) {
            throw new PipelineFailure("the checkpoint is inside the source transaction committed at " + resumeInside.commitLsn()
                    + ", but the slot sent the one committed at " + commitLsn + " first; the slot no longer matches the"
                    + " checkpoint. Start over with `teardown --drop-metadata` and `snapshot`");
        }
        out.add(SourceItem.boundary(SourceItem.Kind.BEGIN, xid, here(), TICKET));
    }

    @Override
    public void commit(long commitLsnValue, long endLsn, long micros) {
        if (!inTransaction) {
            throw new PipelineFailure("a transaction ended at " + new Lsn(endLsn) + " that never began; the change stream is out of order");
        }
        if (resumeInside != null && message < resumeInside.message()) {
            throw new PipelineFailure("the source transaction committed at " + commitLsn + " has " + message + " changes, but the"
                    + " checkpoint says " + resumeInside.message() + " of them were applied; the slot no longer matches the"
                    + " checkpoint. Start over with `teardown --drop-metadata` and `snapshot`");
        }
        resumeInside = null;
        inTransaction = false;
        if (watermarks != null) {
            watermarks.streamed(xidValue);
        }
        restart = new Lsn(endLsn);
        commitMicros = micros;
        if (overlap != null && !overlap.until().isAfter(restart)) {
            overlap = null;
        }
        out.add(SourceItem.boundary(SourceItem.Kind.END, xid, here(), TICKET));
    }

    @Override
    public void relation(PgOutputDecoder.Relation relation) {
        RelationState previous = relations.get(relation.id());
        if (previous != null && previous.relation.equals(relation)) {
            // Described again (the server does so after any invalidation) but unchanged: keep the
            // layout, so that the stages downstream do not take it for a schema change.
            return;
        }
        relations.put(relation.id(), new RelationState(relation, typeNames));
    }

    @Override
    public void type(int oid, String namespace, String name) {
        typeNames.put(oid, name);
    }

    @Override
    public void insert(int relationId, PgOutputDecoder.Tuple row) {
        RelationState r = rowMessage(relationId);
        if (r != null && !copiedWholeSince(r)) {
            emit(new ChangeEvent(r.table, Op.INSERT, null, r.row(row)));
        }
    }

    @Override
    public void update(int relationId, char oldKind, PgOutputDecoder.Tuple old, PgOutputDecoder.Tuple row) {
        RelationState r = rowMessage(relationId);
        if (r == null || copiedWholeSince(r)) {
            return;
        }
        TableSpec spec = r.spec;
        if (spec.hasPrimaryKey() && old != null) {
            r.checkKeySent(oldKind, "an UPDATE");
        }
        // With REPLICA IDENTITY FULL the old row is sent whole: a value left unsent in the new row
        // (unchanged TOAST) is the old one, so the new row is complete.
        RowImage after = r.row(oldKind == 'O' ? r.completed(row, old) : row);
        if (!spec.hasPrimaryKey()) {
            emit(new ChangeEvent(r.table, Op.UPDATE, r.oldRow(old, oldKind), after));
        }
        else if (old != null && r.keyChanged(old, row)) {
            emit(new ChangeEvent(r.table, Op.DELETE, r.key(old, oldKind), null));
            emit(new ChangeEvent(r.table, Op.INSERT, null, after));
        }
        else {
            emit(new ChangeEvent(r.table, Op.UPDATE, null, after));
        }
    }

    @Override
    public void delete(int relationId, char oldKind, PgOutputDecoder.Tuple old) {
        RelationState r = rowMessage(relationId);
        if (r != null && !copiedWholeSince(r)) {
            RowImage key = r.spec.hasPrimaryKey() ? r.key(old, oldKind) : r.oldRow(old, oldKind);
            emit(new ChangeEvent(r.table, Op.DELETE, key, null));
        }
    }

    @Override
    public void truncate(int[] relationIds) {
        startMessage();
        for (int id : relationIds) {
            RelationState r = relations.get(id);
            if (r != null && track(r) != null) {
                if (overlap != null && overlap.coversTruncate(r.table, commitLsn)) {
                    messageItems++;
                    continue;
                }
                emit(ChangeEvent.truncate(r.table));
            }
        }
    }

    @Override
    public void message(boolean transactional, long lsn, String prefix, byte[] content) {
        if (transactional && !inTransaction) {
            throw new PipelineFailure("a transactional message arrived outside a transaction; the change stream is out of order");
        }
        if (SourceAdmin.MARKER_PREFIX.equals(prefix)) {
            out.add(SourceItem.marker(new String(content, StandardCharsets.UTF_8), here(), TICKET));
        }
        else if (DdlCapture.PREFIX.equals(prefix) && inTransaction) {
            // A schema change, where the source made it among the transaction's rows.
            startMessage();
            PgOutputPosition before = new PgOutputPosition(restart, new PgOutputPosition.Inside(commitLsn, message, 0), commitMicros,
                    overlapUntil(), timeline);
            emit(ChangeEvent.schema(new dev.scry.backfill.model.SchemaChange(new Lsn(lsn), new String(content, StandardCharsets.UTF_8),
                    before.get())));
        }
        else if (Watermarks.PREFIX.equals(prefix) && inTransaction && watermarks != null) {
            watermark(new String(content, StandardCharsets.UTF_8));
        }
        else if (!inTransaction) {
            // Someone's non-transactional message (our heartbeat's, or another tool's): a position.
            out.add(heartbeat(new Lsn(lsn)));
        }
        else if (!HEARTBEAT_PREFIX.equals(prefix)) {
            out.add(SourceItem.of(SourceItem.Kind.SKIP, here(), TICKET));
        }
    }

    /**
     * One of this process's watermarks: what its action emits belongs to its transaction, counted
     * as one message, so that a resume inside it skips what was applied (see {@link Watermarks}).
     */
    private void watermark(String content) {
        startMessage();
        Watermarks.Reached reached = watermarks.reached(content);
        if (reached == null) {
            out.add(SourceItem.of(SourceItem.Kind.SKIP, here(), TICKET));
            return;
        }
        for (ChangeEvent change : reached.changes()) {
            emit(change);
        }
        for (dev.scry.backfill.model.TableControl control : reached.controls()) {
            out.add(SourceItem.control(control, here(), TICKET));
        }
    }

    /** Counts a row message of the open transaction and returns its relation, or null when the table is not tracked. */
    private RelationState rowMessage(int relationId) {
        startMessage();
        RelationState r = relations.get(relationId);
        if (r == null) {
            throw new PipelineFailure("a change arrived for relation " + relationId + " before its description; the change stream"
                    + " is out of order");
        }
        return track(r);
    }

    private void startMessage() {
        if (!inTransaction) {
            throw new PipelineFailure("a change arrived outside a transaction; the change stream is out of order");
        }
        message++;
        messageItems = 0;
        skipItems = 0;
        if (resumeInside != null) {
            if (message < resumeInside.message()) {
                skipItems = Integer.MAX_VALUE;
            }
            else if (message == resumeInside.message()) {
                skipItems = resumeInside.items();
            }
        }
    }

    private RelationState track(RelationState r) {
        if (watermarks != null && watermarks.ignores(r.table)) {
            // Removed from the pipeline: its changes still in the stream are not applied.
            return null;
        }
        if (r.spec == null) {
            TableSpec spec = tables.get(r.table);
            if (spec == null) {
                if (selectors.stream().anyMatch(sel -> sel.matches(r.table))) {
                    throw new PipelineFailure("a change to " + r.table + " arrived before the pipeline had copied that table;"
                            + " stopping before applying anything of it. Run `resume`: the table is copied before streaming starts");
                }
                // A table the publication carries beyond the configured ones.
                return null;
            }
            r.track(spec);
        }
        return r;
    }

    /**
     * Whether the whole table was copied after the current transaction committed (a continued
     * snapshot, or {@code table resnapshot}): its change is in the copy already and is skipped
     * before it is even read, since it may be one the stream could not apply (see
     * {@link dev.scry.backfill.error.ReplicaIdentityFailure}).
     */
    private boolean copiedWholeSince(RelationState r) {
        return overlap != null && overlap.covers(r.table, commitLsn, null);
    }

    private void emit(ChangeEvent change) {
        messageItems++;
        if (messageItems <= skipItems) {
            return;
        }
        if (watermarks != null && change.op() != Op.SCHEMA) {
            watermarks.changed(change, xidValue);
        }
        if (overlap != null && change.op() != Op.TRUNCATE && change.op() != Op.SCHEMA && overlap.covers(change.table(), commitLsn, firstKey(change))) {
            return;
        }
        PgOutputPosition position = new PgOutputPosition(restart, new PgOutputPosition.Inside(commitLsn, message, messageItems),
                commitMicros, overlapUntil(), timeline);
        out.add(SourceItem.change(change, xid, position, TICKET));
    }

    /** The value of the first key column of the row a change touches (null for a table without a key). */
    private String firstKey(ChangeEvent change) {
        TableSpec spec = tables.get(change.table());
        if (spec == null || !spec.hasPrimaryKey()) {
            return null;
        }
        String column = spec.primaryKey().get(0);
        return change.op() == Op.DELETE ? change.key().value(column) : change.after().value(column);
    }

    /**
     * A relation as last described, with the layouts its rows are given: the same column list
     * instance for every row until the relation is described differently, which is how the
     * batcher and the sink recognise a schema change.
     */
    private static final class RelationState {
        final PgOutputDecoder.Relation relation;
        final TableId table;
        final List<String> columns;
        final List<String> sourceTypes;
        TableSpec spec;
        List<String> keyColumns;
        int[] keyIndexes;

        RelationState(PgOutputDecoder.Relation relation, Map<Integer, String> typeNames) {
            this.relation = relation;
            this.table = new TableId(relation.namespace(), relation.name());
            List<String> names = new ArrayList<>(relation.columns().size());
            List<String> types = new ArrayList<>(relation.columns().size());
            for (PgOutputDecoder.Column c : relation.columns()) {
                names.add(c.name());
                types.add(typeNames.getOrDefault(c.typeOid(), ""));
            }
            this.columns = List.copyOf(names);
            this.sourceTypes = List.copyOf(types);
        }

        void track(TableSpec spec) {
            List<String> key = spec.primaryKey();
            int[] indexes = new int[key.size()];
            for (int i = 0; i < indexes.length; i++) {
                indexes[i] = columns.indexOf(key.get(i));
                if (indexes[i] < 0) {
                    throw new PipelineFailure("key column " + key.get(i) + " of " + table + " is not in the change stream's"
                            + " description of the table; the shadow cannot follow a change of key. Re-run the snapshot"
                            + " (teardown --drop-metadata, empty the shadow tables, snapshot)");
                }
            }
            this.keyColumns = List.copyOf(key);
            this.keyIndexes = indexes;
            this.spec = spec;
        }

        RowImage row(PgOutputDecoder.Tuple tuple) {
            check(tuple);
            return new RowImage(columns, tuple.values(), tuple.unchanged(), sourceTypes);
        }

        RowImage key(PgOutputDecoder.Tuple old, char oldKind) {
            if (old == null) {
                throw new ReplicaIdentityFailure(table, "a DELETE on " + table + " arrived without its key " + keyColumns
                        + ": the table's replica identity on the source named no columns when it was made");
            }
            checkKeySent(oldKind, "a DELETE");
            check(old);
            String[] values = new String[keyIndexes.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = old.values()[keyIndexes[i]];
            }
            return new RowImage(keyColumns, values, null);
        }

        /** {@code row} with each value it left unsent taken from the whole old row {@code old}. */
        PgOutputDecoder.Tuple completed(PgOutputDecoder.Tuple row, PgOutputDecoder.Tuple old) {
            if (row.unchanged() == null || old == null) {
                return row;
            }
            check(old);
            String[] values = row.values().clone();
            for (int i = row.unchanged().nextSetBit(0); i >= 0; i = row.unchanged().nextSetBit(i + 1)) {
                values[i] = old.values()[i];
            }
            return new PgOutputDecoder.Tuple(values, null);
        }

        /**
         * The old key a change sent ('K') holds the key's values only when the relation's identity
         * columns, as the stream described them when the change was made, include the key's: a
         * table whose identity was moved to another index sends that index's columns and NULL for
         * the rest, and applying such a change would miss its row.
         */
        void checkKeySent(char oldKind, String what) {
            if (oldKind == 'O') {
                return;
            }
            List<String> sent = relation.columns().stream().filter(PgOutputDecoder.Column::key).map(PgOutputDecoder.Column::name).toList();
            if (!sent.containsAll(keyColumns)) {
                throw new ReplicaIdentityFailure(table, what + " on " + table + " arrived with the replica identity columns " + sent
                        + " instead of its key " + keyColumns + ": the table's replica identity on the source did not cover its key"
                        + " when the change was made");
            }
        }

        /**
         * A table without a key is changed by its whole old row, which REPLICA IDENTITY FULL sends
         * ('O'). A partitioned table's changes are published as its own, and marked by its own
         * identity: under DEFAULT even the whole row a FULL partition logged arrives as a key.
         */
        RowImage oldRow(PgOutputDecoder.Tuple old, char kind) {
            if (old == null || kind != 'O') {
                throw new ReplicaIdentityFailure(table, "a change to " + table + " (no key) arrived without its whole old row:"
                        + " the table's replica identity on the source was not FULL when the change was made (for a partitioned"
                        + " table, its own identity counts as well as its partitions')");
            }
            return row(old);
        }

        /** Whether an UPDATE moved the row to another key; a key value left unsent (unchanged TOAST) did not change. */
        boolean keyChanged(PgOutputDecoder.Tuple old, PgOutputDecoder.Tuple row) {
            for (int i : keyIndexes) {
                boolean unsent = row.unchanged() != null && row.unchanged().get(i);
                if (!unsent && !Objects.equals(old.values()[i], row.values()[i])) {
                    return true;
                }
            }
            return false;
        }

        private void check(PgOutputDecoder.Tuple tuple) {
            if (tuple.values().length != columns.size()) {
                throw new PipelineFailure("a row of " + table + " has " + tuple.values().length + " values but its description "
                        + columns.size() + " columns; the change stream is inconsistent");
            }
        }
    }
}
