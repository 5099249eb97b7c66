package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.scry.backfill.checkpoint.TableStates;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.sink.HeldChanges;

/**
 * Each table's state for {@code status} and {@code verify}: streaming, copying n% (rows copied of
 * the estimate), paused (with the changes held on the shadow and their bytes), removed.
 */
final class TableStatesReport {

    private final Map<TableId, TableStates.Entry> states;
    private final Map<TableId, HeldChanges.Held> held;

    private TableStatesReport(Map<TableId, TableStates.Entry> states, Map<TableId, HeldChanges.Held> held) {
        this.states = states;
        this.held = held;
    }

    static TableStatesReport read(String pipeline, Connection shadow) throws SQLException {
        return new TableStatesReport(new TableStates(pipeline).read(shadow), new HeldChanges(pipeline).summary(shadow));
    }

    /** Tables verify reports instead of comparing, with why: paused (its changes are held back) or being copied. */
    static Map<TableId, String> notCompared(String pipeline, Connection shadow) throws SQLException {
        TableStatesReport report = read(pipeline, shadow);
        Map<TableId, String> out = new LinkedHashMap<>();
        report.states.forEach((table, e) -> {
            if (e.state() == TableStates.State.PAUSED || e.state() == TableStates.State.COPYING) {
                out.put(table, report.text(table) + "; not compared until " + (e.state() == TableStates.State.PAUSED ? "it resumes"
                        : "the copy is done"));
            }
        });
        return out;
    }

    /** The tables with a state (added, removed, paused, being copied, or done with one of those). */
    java.util.Set<TableId> tables() {
        return states.keySet();
    }

    TableStates.State state(TableId table) {
        TableStates.Entry e = states.get(table);
        return e == null ? TableStates.State.STREAMING : e.state();
    }

    /** The table's state as JSON: {@code name} and what goes with it. */
    Map<String, Object> document(TableId table) {
        Map<String, Object> out = new LinkedHashMap<>();
        TableStates.Entry e = states.get(table);
        out.put("name", state(table).label());
        if (e == null) {
            return out;
        }
        out.put("since", String.valueOf(e.since()));
        if (e.added()) {
            out.put("added", true);
        }
        switch (e.state()) {
            case COPYING -> {
                out.put("mode", e.copyMode());
                out.put("rows_copied", e.copyRows());
                out.put("rows_estimated", e.copyEstimate());
                Integer percent = percent(e);
                if (percent != null) {
                    out.put("percent", percent);
                }
            }
            case PAUSED -> {
                HeldChanges.Held h = held.getOrDefault(table, new HeldChanges.Held(0, 0));
                out.put("held_changes", h.changes());
                out.put("held_bytes", h.bytes());
            }
            default -> {
            }
        }
        return out;
    }

    /** The table's state for people: {@code copying 45% (...)}, {@code paused since ... (N held changes, B bytes)}. */
    String text(TableId table) {
        TableStates.Entry e = states.get(table);
        if (e == null) {
            return "streaming";
        }
        return switch (e.state()) {
            case STREAMING -> "streaming" + (e.added() ? " (added by table add)" : "");
            case COPYING -> {
                Integer percent = percent(e);
                yield String.format("copying%s (%s: %,d rows%s)", percent == null ? "" : " " + percent + "%", e.copyMode(), e.copyRows(),
                        e.copyEstimate() == null || e.copyEstimate() == 0 ? "" : String.format(" of about %,d", e.copyEstimate()));
            }
            case PAUSED -> {
                HeldChanges.Held h = held.getOrDefault(table, new HeldChanges.Held(0, 0));
                yield String.format("paused since %s (%,d held change(s), %,d bytes on the shadow)", e.since(), h.changes(), h.bytes());
            }
            case REMOVED -> "removed since " + e.since() + " (out of the publication; its shadow table stays)";
        };
    }

    private static Integer percent(TableStates.Entry e) {
        return e.copyEstimate() == null || e.copyEstimate() <= 0 ? null : (int) Math.min(100, e.copyRows() * 100 / e.copyEstimate());
    }
}
