package dev.scry.backfill.snapshot;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.model.TableId;

/**
 * Counts snapshot rows per table as batches commit, logs a progress line now and then (rows done of
 * the planner's estimate, rate), and prints the summary when the snapshot completes.
 */
public final class SnapshotProgress {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotProgress.class);
    private static final long REPORT_EVERY_NANOS = Duration.ofSeconds(10).toNanos();

    private final Map<TableId, Long> rows = new LinkedHashMap<>();
    private final Map<TableId, Long> estimates = new LinkedHashMap<>();
    private final long startNanos = System.nanoTime();
    private long lastReportNanos = startNanos;

    public SnapshotProgress(List<TableId> tables) {
        for (TableId t : tables) {
            rows.put(t, 0L);
        }
    }

    /** Reads the planner's row estimates from the source (cheap: pg_class.reltuples). */
    public void estimate(Connection source) throws SQLException {
        try (PreparedStatement ps = source.prepareStatement("""
                SELECT greatest(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ? AND c.relname = ?""")) {
            for (TableId t : rows.keySet()) {
                ps.setString(1, t.schema());
                ps.setString(2, t.name());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        estimates.put(t, rs.getLong(1));
                    }
                }
            }
        }
    }

    public synchronized void add(Map<TableId, TableCounts> counts) {
        counts.forEach((t, c) -> {
            if (c.snapshotRows() > 0) {
                rows.merge(t, c.snapshotRows(), Long::sum);
            }
        });
        long now = System.nanoTime();
        if (display == null && now - lastReportNanos >= REPORT_EVERY_NANOS) {
            lastReportNanos = now;
            LOG.info("snapshot progress: {} rows in {} s ({} rows/s); {}", total(), seconds(now), rate(now), perTable());
        }
    }

    /**
     * The rows the journal says are committed per table, replacing what this process counted:
     * snapshot workers in other processes copied the rest (see {@link SnapshotWorker}).
     */
    public synchronized void settle(Map<TableId, Long> committed) {
        committed.forEach((t, n) -> {
            if (rows.containsKey(t)) {
                rows.put(t, n);
            }
        });
    }

    /** Sets one table's estimate (tests). */
    synchronized void estimate(TableId table, long rows) {
        estimates.put(table, rows);
    }

    /** The planner's row estimate per table, as read by {@link #estimate(Connection)}. */
    public synchronized Map<TableId, Long> estimates() {
        return new LinkedHashMap<>(estimates);
    }

    private Thread display;
    private int drawnLines;

    /**
     * On a terminal, draws a progress bar per table (rows of the estimate, rate, ETA) on stderr,
     * redrawn twice a second, instead of the periodic log lines. Does nothing elsewhere.
     */
    public synchronized void startDisplay() {
        if (System.console() == null || display != null) {
            return;
        }
        display = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    draw();
                    Thread.sleep(500);
                }
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "snapshot-progress");
        display.setDaemon(true);
        display.start();
    }

    /** Draws the final state and stops redrawing. */
    public void stopDisplay() {
        Thread t;
        synchronized (this) {
            t = display;
        }
        if (t != null) {
            t.interrupt();
            try {
                t.join(2000);
            }
            catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            draw();
        }
    }

    private void draw() {
        List<String> lines = lines(System.nanoTime());
        StringBuilder out = new StringBuilder();
        if (drawnLines > 0) {
            out.append("\033[").append(drawnLines).append('F');
        }
        for (String line : lines) {
            out.append(line).append("\033[K\n");
        }
        drawnLines = lines.size();
        System.err.print(out);
        System.err.flush();
    }

    /** One line per table: {@code name [#####.....] rows/estimate  rate rows/s  ETA}. */
    synchronized List<String> lines(long now) {
        List<String> out = new java.util.ArrayList<>();
        double seconds = Math.max(1e-3, (now - startNanos) / 1e9);
        int width = rows.keySet().stream().mapToInt(t -> t.toString().length()).max().orElse(5);
        for (Map.Entry<TableId, Long> e : rows.entrySet()) {
            long done = e.getValue();
            long estimate = Math.max(done, estimates.getOrDefault(e.getKey(), 0L));
            int filled = estimate == 0 ? 30 : (int) Math.min(30, 30 * done / estimate);
            long rate = Math.round(done / seconds);
            String eta = rate == 0 || done >= estimate ? "-" : ((estimate - done) / rate) + " s";
            out.add(String.format("%-" + width + "s [%s%s] %,d/%,d  %,d rows/s  ETA %s", e.getKey(), "#".repeat(filled),
                    ".".repeat(30 - filled), done, estimate, rate, eta));
        }
        return out;
    }

    public synchronized long total() {
        return rows.values().stream().mapToLong(Long::longValue).sum();
    }

    public synchronized Map<TableId, Long> rows() {
        return new LinkedHashMap<>(rows);
    }

    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /** The summary a finished snapshot prints: rows per table and elapsed time. */
    public synchronized void printSummary(PrintWriter out, String pipeline) {
        long now = System.nanoTime();
        out.printf("snapshot of pipeline %s complete: %d rows in %.1f s (%d rows/s)%n", pipeline, total(),
                (now - startNanos) / 1e9, rate(now));
        int width = rows.keySet().stream().mapToInt(t -> t.toString().length()).max().orElse(5);
        for (Map.Entry<TableId, Long> e : rows.entrySet()) {
            out.printf("  %-" + width + "s  %,d rows%n", e.getKey(), e.getValue());
        }
    }

    private String perTable() {
        StringBuilder sb = new StringBuilder();
        rows.forEach((t, n) -> {
            Long est = estimates.get(t);
            sb.append(sb.length() == 0 ? "" : ", ").append(t).append(' ').append(n);
            if (est != null && est > 0) {
                sb.append('/').append(est);
            }
        });
        return sb.toString();
    }

    private long seconds(long now) {
        return (now - startNanos) / 1_000_000_000L;
    }

    private long rate(long now) {
        double s = (now - startNanos) / 1e9;
        return s <= 0 ? 0 : Math.round(total() / s);
    }
}
