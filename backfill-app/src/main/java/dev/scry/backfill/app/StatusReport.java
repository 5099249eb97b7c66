package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.checkpoint.RateRecords;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.source.FailoverReadiness;
import dev.scry.backfill.source.SlotInfo;
import dev.scry.backfill.source.SourceAdmin;

/**
 * {@code status}: what runs and what can resume (see {@link PipelineState}), the phase, the
 * checkpoint, rows applied per table, and how far the slot trails the source's WAL. Reads only;
 * shows no password.
 */
final class StatusReport {

    private final BackfillConfig config;

    StatusReport(BackfillConfig config) {
        this.config = config;
    }

    Map<String, Object> collect() throws SQLException {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("pipeline", config.pipeline());
        status.put("state", null); // decided below, once the slot is known; shown first
        Optional<Checkpoint> cp;
        Optional<String> lockHolder;
        try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
            CheckpointStore store = new CheckpointStore(config.pipeline());
            cp = store.read(shadow);
            lockHolder = InstanceLock.holder(shadow, config.pipeline());
            status.put("phase", cp.map(c -> c.phase().label()).orElse("not started"));
            status.put("checkpoint_lsn", cp.map(c -> c.lsn().toString()).orElse(null));
            status.put("checkpoint_at", cp.map(c -> String.valueOf(c.updatedAt())).orElse(null));
            status.put("batches_committed", cp.map(Checkpoint::batches).orElse(0L));
            status.put("snapshot_completed_at", cp.map(c -> c.snapshotCompletedAt() == null ? null : c.snapshotCompletedAt().toString()).orElse(null));
            Map<String, Object> tables = new LinkedHashMap<>();
            Map<TableId, TableCounts> progress = store.progress(shadow);
            // Exact tables as configured, plus every table a pattern brought in.
            java.util.Set<TableId> shown = new java.util.LinkedHashSet<>(config.tables());
            if (config.hasPatterns()) {
                shown.addAll(progress.keySet());
            }
            TableStatesReport states = TableStatesReport.read(config.pipeline(), shadow);
            shown.addAll(states.tables());
            for (TableId t : shown) {
                TableCounts c = progress.getOrDefault(t, TableCounts.ZERO);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("state", states.document(t));
                row.put("state_text", states.text(t));
                row.put("snapshot_rows", c.snapshotRows());
                row.put("inserts", c.inserts());
                row.put("updates", c.updates());
                row.put("deletes", c.deletes());
                row.put("truncates", c.truncates());
                tables.put(t.toString(), row);
            }
            status.put("tables", tables);
            status.put("requests", openRequests(shadow));
            status.put("schema", schema(shadow));
            status.put("rate", rates(shadow, lockHolder.isPresent()));
        }
        Optional<SlotInfo> slot;
        try (Connection source = Connect.open(config.source(), "source")) {
            SourceAdmin admin = new SourceAdmin(source);
            Lsn current = admin.currentWalLsn();
            status.put("source_wal_lsn", current.toString());
            slot = admin.slot(config.slot());
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("name", config.slot());
            s.put("exists", slot.isPresent());
            if (slot.isPresent()) {
                SlotInfo info = slot.get();
                s.put("active", info.active());
                s.put("confirmed_flush_lsn", info.confirmedFlush() == null ? null : info.confirmedFlush().toString());
                s.put("lag_bytes", info.confirmedFlush() == null ? null : Math.max(0, current.bytesAfter(info.confirmedFlush())));
                s.put("retained_wal_bytes", info.restart() == null ? null : Math.max(0, current.bytesAfter(info.restart())));
            }
            status.put("slot", s);
            status.put("publication", Map.of("name", config.publication(), "exists", admin.publicationExists(config.publication())));
            status.put("source_server", admin.server().describe());
            Optional<SourceAdmin.DecodingStats> decoding = slot.isPresent() ? admin.decodingStats(config.slot()) : Optional.empty();
            if (decoding.isPresent()) {
                SourceAdmin.DecodingStats d = decoding.get();
                s.put("decoded_transactions", d.transactions());
                s.put("decoded_bytes", d.bytes());
                s.put("spilled_transactions", d.spilledTransactions());
                s.put("spilled_bytes", d.spilledBytes());
            }
            if (slot.isPresent()) {
                s.put("failover", slot.get().failover());
                s.put("invalidated", slot.get().invalidated());
            }
            FailoverReadiness failover = FailoverReadiness.assess(source, slot, config.slotCreation(), config.tables(),
                    config.source().primaryOfSeveral());
            status.put("failover", Map.of("ready", failover.ready(), "summary", failover.summary()));
        }
        PipelineState state = PipelineState.of(config.pipeline(), config.slot(), lockHolder, cp, slot);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("name", state.name());
        s.put("running", state.running());
        s.put("held_by", state.heldBy());
        s.put("resumable", state.resumable());
        s.put("advice", state.advice());
        status.put("state", s);
        return status;
    }

    /** Table requests not finished yet (see TableRequestClient): what the daemon works on or will. */
    /** The last drift check's outcome, and a captured schema change that stopped the pipeline. */
    private Map<String, Object> schema(Connection shadow) throws SQLException {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("capture_ddl", config.schema().captureDdl());
        if (!MetadataSchema.exists(shadow)) {
            return out;
        }
        dev.scry.backfill.checkpoint.SchemaRecords records = new dev.scry.backfill.checkpoint.SchemaRecords(config.pipeline());
        records.readDrift(shadow).ifPresent(d -> {
            out.put("differences", d.differences());
            out.put("applied", d.applied());
            out.put("report", d.report());
            out.put("checked_at", d.checkedAt().toString());
        });
        records.readStop(shadow).ifPresent(stop -> out.put("stopped_at_change", Map.of("lsn", stop.lsn(), "statement", stop.statement(),
                "error", stop.error())));
        return out;
    }

    private List<Map<String, Object>> openRequests(Connection shadow) throws SQLException {
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (dev.scry.backfill.checkpoint.TableRequests.Open open : new dev.scry.backfill.checkpoint.TableRequests(config.pipeline()).open(shadow)) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("id", open.id());
            r.put("action", open.action().label());
            r.put("table", open.table().toString());
            r.put("state", open.state().name().toLowerCase(java.util.Locale.ROOT));
            r.put("progress", open.progress());
            r.put("requested_at", open.requestedAt());
            out.add(r);
        }
        return out;
    }

    /**
     * The configured limit (from the file) and what the pipeline last reported (see RateReporter):
     * {@code current} says whether that is a running command's or the last run's.
     */
    private Map<String, Object> rates(Connection shadow, boolean running) throws SQLException {
        Map<String, Object> rate = new LinkedHashMap<>();
        rate.put("configured_rows_per_second", config.rateLimit().rowsPerSecond());
        rate.put("configured_bytes_per_second", config.rateLimit().bytesPerSecond());
        new RateRecords(config.pipeline()).read(shadow).ifPresent(r -> {
            rate.put("current", running);
            rate.put("running_rows_limit", r.rowsLimit());
            rate.put("running_bytes_limit", r.bytesLimit());
            rate.put("achieved_rows_per_second", Math.round(r.rowsPerSecond()));
            rate.put("achieved_bytes_per_second", Math.round(r.bytesPerSecond()));
            rate.put("throttled_seconds", Math.round(r.throttledSeconds() * 10) / 10.0);
            rate.put("reported_at", r.reportedAt());
            rate.put("report_age_seconds", Math.round(r.ageSeconds()));
        });
        return rate;
    }

    void print(CommandOutput out, boolean json) throws SQLException {
        Map<String, Object> status = collect();
        if (json) {
            out.document(status);
            return;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> state = (Map<String, Object>) status.get("state");
        out.printf("pipeline     %s%n", status.get("pipeline"));
        out.printf("state        %s: %s%n", state.get("name"), state.get("advice"));
        out.printf("phase        %s%n", status.get("phase"));
        out.printf("checkpoint   %s%s%n", orDash(status.get("checkpoint_lsn")),
                status.get("checkpoint_at") == null ? "" : " at " + status.get("checkpoint_at"));
        out.printf("source WAL   %s%n", status.get("source_wal_lsn"));
        @SuppressWarnings("unchecked")
        Map<String, Object> slot = (Map<String, Object>) status.get("slot");
        if (Boolean.TRUE.equals(slot.get("exists"))) {
            out.printf("slot         %s (%s), confirmed %s, lag %s bytes, retained WAL %s bytes%n", slot.get("name"),
                    Boolean.TRUE.equals(slot.get("active")) ? "active" : "idle", orDash(slot.get("confirmed_flush_lsn")),
                    orDash(slot.get("lag_bytes")), orDash(slot.get("retained_wal_bytes")));
        }
        else {
            out.printf("slot         %s (does not exist)%n", slot.get("name"));
        }
        if (slot.containsKey("decoded_transactions")) {
            out.printf("decoding     %s transactions (%s bytes) decoded on the source; %s spilled to its disk (%s bytes)%n",
                    slot.get("decoded_transactions"), slot.get("decoded_bytes"), slot.get("spilled_transactions"), slot.get("spilled_bytes"));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> failover = (Map<String, Object>) status.get("failover");
        out.printf("source       %s%n", status.get("source_server"));
        @SuppressWarnings("unchecked")
        Map<String, Object> schema = (Map<String, Object>) status.get("schema");
        if (schema != null) {
            String capture = Boolean.TRUE.equals(schema.get("capture_ddl")) ? "DDL captured in the stream" : "drift check only";
            out.printf("schema       %s; %s%n", capture, schema.containsKey("differences")
                    ? schema.get("differences") + " object(s) differ at the check of " + schema.get("checked_at")
                            + (((Number) schema.get("differences")).intValue() > 0 ? ": " + schema.get("report") : "")
                    : "not checked yet");
            if (schema.get("stopped_at_change") instanceof Map<?, ?> stop) {
                out.printf("schema stop  the change at %s could not be applied (%s); run on the shadow: %s, then `resume`%n",
                        stop.get("lsn"), stop.get("error"), stop.get("statement"));
            }
        }
        out.printf("failover     %s%n", failover.get("summary"));
        @SuppressWarnings("unchecked")
        Map<String, Object> rate = (Map<String, Object>) status.get("rate");
        out.printf("rate limit   configured %s rows/s, %s bytes/s (0 = unlimited)%n", rate.get("configured_rows_per_second"),
                rate.get("configured_bytes_per_second"));
        if (rate.containsKey("achieved_rows_per_second")) {
            // Without a running command the figures are the last run's, however recent.
            boolean current = Boolean.TRUE.equals(rate.get("current"));
            out.printf("rate         %s %s rows/s, %s bytes/s under %s limit of %s rows/s, %s bytes/s; throttled %s s"
                    + " (reported %s s ago%s)%n", current ? "achieved" : "last run achieved", rate.get("achieved_rows_per_second"),
                    rate.get("achieved_bytes_per_second"), current ? "a running" : "its", rate.get("running_rows_limit"),
                    rate.get("running_bytes_limit"), rate.get("throttled_seconds"), rate.get("report_age_seconds"),
                    current ? "" : "; nothing runs now");
        }
        out.println("tables       snapshot rows / inserts / updates / deletes / truncates; state");
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> tables = (Map<String, Map<String, Object>>) status.get("tables");
        int width = tables.keySet().stream().mapToInt(String::length).max().orElse(5);
        for (Map.Entry<String, Map<String, Object>> e : tables.entrySet()) {
            Map<String, Object> c = e.getValue();
            out.printf("  %-" + width + "s  %s / %s / %s / %s / %s; %s%n", e.getKey(), c.get("snapshot_rows"), c.get("inserts"),
                    c.get("updates"), c.get("deletes"), c.get("truncates"), c.get("state_text"));
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> requests = (List<Map<String, Object>>) status.get("requests");
        for (Map<String, Object> r : requests) {
            out.printf("request %s  %s %s: %s%s%n", r.get("id"), r.get("action"), r.get("table"), r.get("state"),
                    r.get("progress") == null ? "" : ", " + r.get("progress"));
        }
    }

    private static String orDash(Object v) {
        return v == null ? "-" : v.toString();
    }
}
