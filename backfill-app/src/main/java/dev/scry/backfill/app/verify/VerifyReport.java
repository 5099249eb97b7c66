package dev.scry.backfill.app.verify;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What {@code verify} found, printed for people or as JSON. */
public record VerifyReport(List<Table> tables, boolean pipelineRunning) {

    /**
     * One table's result; {@code shadowRows} is -1 when the shadow table could not be read. A table
     * that was not compared says why in {@code notCompared} (a custom transform without a
     * source-side form, a paused table, one being copied); it is no difference. A moving target
     * differed while its source table kept changing under every comparison, so its differences may
     * be changes still in flight. {@code method} says how the source side was computed.
     */
    public record Table(String table, long sourceRows, long shadowRows, List<Difference> differences, String problem, String notCompared,
                        boolean movingTarget, String method) {

        static Table equal(String table, long rows, String method) {
            return new Table(table, rows, rows, List.of(), null, null, false, method);
        }

        static Table skipped(String table, String why) {
            return new Table(table, -1, -1, List.of(), null, why, false, null);
        }

        public boolean differs() {
            return notCompared == null && (!differences.isEmpty() || problem != null);
        }

        /**
         * This result, saying that the shadow had not applied what the source committed before the
         * comparison: its differences may be changes still on their way.
         */
        Table behind(String why) {
            return new Table(table, sourceRows, shadowRows, differences, problem == null ? why : problem + "; " + why, notCompared,
                    movingTarget, method);
        }

        Table asMovingTarget() {
            return new Table(table, sourceRows, shadowRows, differences, problem, notCompared, true, method);
        }

        String status() {
            return notCompared != null ? "not compared" : differs() ? "different" : "equal";
        }
    }

    /** Whether some table could not be told apart from changes in flight (see {@link Table#movingTarget()}). */
    public boolean movingTarget() {
        return tables.stream().anyMatch(Table::movingTarget);
    }

    /** A differing row: its key (or, without a key, its text) and missing / extra / changed. */
    public record Difference(String key, String kind) {
    }

    public boolean equal() {
        return tables.stream().noneMatch(Table::differs);
    }

    /** The report as a JSON document. */
    public Map<String, Object> document() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("equal", equal());
        doc.put("pipeline_running", pipelineRunning);
        doc.put("moving_target", movingTarget());
        doc.put("tables", tables.stream().map(t -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("table", t.table());
            m.put("status", t.status());
            m.put("source_rows", t.sourceRows());
            m.put("shadow_rows", t.shadowRows());
            m.put("moving_target", t.movingTarget());
            if (t.method() != null) {
                m.put("compared", t.method());
            }
            m.put("differences", t.differences().stream().map(d -> Map.of("key", d.key(), "kind", d.kind())).toList());
            if (t.problem() != null) {
                m.put("problem", t.problem());
            }
            if (t.notCompared() != null) {
                m.put("reason", t.notCompared());
            }
            return m;
        }).toList());
        return doc;
    }

    /** The report for people. */
    public void print(PrintWriter out) {
        int width = tables.stream().mapToInt(t -> t.table().length()).max().orElse(5);
        for (Table t : tables) {
            if (t.notCompared() != null) {
                out.printf("%-" + width + "s  %s%n", t.table(), t.notCompared());
                continue;
            }
            out.printf("%-" + width + "s  %s  (source %,d rows, shadow %s%s)%s%n", t.table(), t.differs() ? "DIFFERENT" : "equal",
                    t.sourceRows(), t.shadowRows() < 0 ? "unreadable" : String.format("%,d rows", t.shadowRows()),
                    t.method() == null || t.method().equals("sql") ? "" : "; " + t.method(),
                    t.movingTarget() ? "  moving target: written throughout the comparison" : "");
            if (t.problem() != null) {
                out.printf("    %s%n", t.problem());
            }
            for (Difference d : t.differences()) {
                out.printf("    %-7s %s%n", d.kind(), d.key());
            }
        }
        long differing = tables.stream().filter(Table::differs).count();
        long skipped = tables.stream().filter(t -> t.notCompared() != null).count();
        out.printf("%s: %d of %d table(s) differ%s%s%n", differing == 0 ? "equal" : "DIFFERENT", differing, tables.size(),
                skipped == 0 ? "" : ", " + skipped + " not compared",
                movingTarget() ? "; the source was being written during the comparison (moving target): differences may be"
                        + " changes still in flight" : pipelineRunning ? "; compared while cdc runs, after waiting for the shadow"
                        + " to catch up" : "");
        out.flush();
    }
}
