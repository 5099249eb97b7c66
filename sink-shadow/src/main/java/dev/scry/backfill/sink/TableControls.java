package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.checkpoint.TableStates;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.TableControl;
import dev.scry.backfill.model.TableId;

/**
 * The sink's part of a batch's {@link TableControl}s, in the batch's transaction: a paused
 * table's changes are held back instead of applied ({@link HeldChanges}), and each control is
 * recorded in {@link TableStates} after the batch's changes; a resume applies the table's held
 * changes there, in order, before anything later of it.
 */
final class TableControls {

    private static final int RESUME_PAGE = 10_000;

    /** Applies changes in the batch's transaction, after its own (the held changes of a resumed table). */
    interface Applier {
        Map<TableId, TableCounts> apply(List<ChangeEvent> changes) throws SQLException;
    }

    private final TableStates states;
    private final HeldChanges held;
    private Set<TableId> paused;
    private Set<TableId> pendingPaused;

    TableControls(String pipeline) {
        this.states = new TableStates(pipeline);
        this.held = new HeldChanges(pipeline);
    }

    /** The batch without the changes of paused tables, which are held in the caller's transaction. */
    ChangeBatch holdPaused(Connection c, ChangeBatch batch) throws SQLException {
        if (paused == null) {
            paused = new HashSet<>();
            states.read(c).values().stream().filter(e -> e.state() == TableStates.State.PAUSED).forEach(e -> paused.add(e.table()));
        }
        pendingPaused = new HashSet<>(paused);
        if (paused.isEmpty() || batch.events().stream().noneMatch(e -> paused.contains(e.table()))) {
            return batch;
        }
        List<ChangeEvent> apply = new ArrayList<>();
        List<ChangeEvent> hold = new ArrayList<>();
        for (ChangeEvent e : batch.events()) {
            (paused.contains(e.table()) ? hold : apply).add(e);
        }
        held.hold(c, hold, batch.end().lsn());
        return new ChangeBatch(apply, batch.end(), batch.transactions(), batch.partialTransaction(), batch.markers(), batch.controls());
    }

    /** Records the batch's controls, in order; returns the counts with a resumed table's held changes added. */
    Map<TableId, TableCounts> apply(Connection c, ChangeBatch batch, Map<TableId, TableCounts> counts, Applier applier)
            throws SQLException {
        Map<TableId, TableCounts> out = counts;
        for (TableControl control : batch.controls()) {
            TableId t = control.table();
            Map<String, Object> d = control.details();
            switch (control.action()) {
                case COPY_STARTED -> {
                    if (Boolean.TRUE.equals(d.get("empty"))) {
                        try (java.sql.Statement st = c.createStatement()) {
                            st.execute(ShadowSchema.emptying(c, t));
                        }
                    }
                    states.copyStarted(c, t, String.valueOf(d.get("mode")), d.get("estimate") instanceof Number n ? n.longValue() : null,
                            Boolean.TRUE.equals(d.get("continued")));
                }
                case CHUNK_COPIED -> states.chunkCopied(c, t, cursor(d.get("cursor")), d.get("rows") instanceof Number n ? n.longValue() : 0);
                case COPY_FINISHED -> states.copyFinished(c, t);
                case PAUSED -> {
                    states.paused(c, t);
                    pendingPaused.add(t);
                }
                case RESUMED -> {
                    for (List<ChangeEvent> page = held.take(c, t, RESUME_PAGE); !page.isEmpty(); page = held.take(c, t, RESUME_PAGE)) {
                        out = sum(out, applier.apply(page));
                    }
                    states.resumed(c, t);
                    pendingPaused.remove(t);
                }
                case REMOVED -> {
                    states.removed(c, t);
                    pendingPaused.remove(t);
                }
                default -> throw new IllegalStateException("unknown control " + control.action());
            }
        }
        return out;
    }

    /** The batch committed: its pauses and resumes hold from the next batch on. */
    void committed() {
        if (pendingPaused != null) {
            paused = pendingPaused;
        }
    }

    @SuppressWarnings("unchecked")
    private static List<String> cursor(Object value) {
        return value instanceof List<?> list ? (List<String>) list : null;
    }

    private static Map<TableId, TableCounts> sum(Map<TableId, TableCounts> a, Map<TableId, TableCounts> b) {
        Map<TableId, TableCounts> out = new LinkedHashMap<>(a);
        b.forEach((t, c) -> out.merge(t, c, (x, y) -> new TableCounts(x.snapshotRows() + y.snapshotRows(), x.inserts() + y.inserts(),
                x.updates() + y.updates(), x.deletes() + y.deletes(), x.truncates() + y.truncates())));
        return out;
    }
}
