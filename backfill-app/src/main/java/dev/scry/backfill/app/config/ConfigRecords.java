package dev.scry.backfill.app.config;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;

import dev.scry.backfill.error.RetryPolicy;
import dev.scry.backfill.sink.schema.SchemaSettings;
import dev.scry.backfill.snapshot.SnapshotSettings;
import dev.scry.backfill.source.StreamReader;
import dev.scry.backfill.throttle.RateLimit;

/**
 * The configuration file's mappings as records, one per mapping: each declares its keys and
 * their defaults ({@code from}, which reads them), checks its values in its compact constructor
 * naming every wrong one with its key path (see {@link Checks}), and hands the stage it
 * configures that stage's own settings. The {@link Section} reads a key's YAML type; its range and
 * meaning are checked here, once.
 */
final class ConfigRecords {

    /** How often a running cdc copies the source's sequence values to the shadow. */
    static final Duration SEQUENCE_SYNC_INTERVAL = Duration.ofSeconds(10);

    /** How often the engine reports its position while the configured tables are idle. */
    static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(10);

    private ConfigRecords() {
    }

    /**
     * The top level's own scalars. {@code slot} and {@code publication} are null when not given:
     * they default to {@code backfill_<pipeline>}, valid whenever the pipeline's name is.
     */
    record TopLevel(String pipeline, String slot, String publication, long discoverTablesEveryMs, long heartbeatIntervalMs) {
        TopLevel {
            Checks c = new Checks("");
            // A missing pipeline is already reported as required.
            c.that(pipeline == null || pipeline.matches("[a-z][a-z0-9_]{0,39}"), "pipeline",
                    "must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 40), got '" + pipeline + "'");
            c.that(slot == null || slot.matches("[a-z0-9_]{1,63}"), "slot",
                    "must hold only a-z, 0-9 and _ (at most 63), as PostgreSQL requires of slot names; got '" + slot + "'");
            c.that(publication == null || !publication.isEmpty() && publication.getBytes(StandardCharsets.UTF_8).length <= 63
                    && publication.indexOf('\0') < 0, "publication", "must be a name of 1 to 63 bytes, got '" + publication + "'");
            c.range("discover-tables-every-ms", discoverTablesEveryMs, 100, 3_600_000);
            c.range("heartbeat-interval-ms", heartbeatIntervalMs, 100, 3_600_000);
            c.done();
            slot = slot == null ? "backfill_" + pipeline : slot;
            publication = publication == null ? "backfill_" + pipeline : publication;
        }

        static TopLevel from(Section top) {
            return new TopLevel(top.string("pipeline", null), top.has("slot") ? top.string("slot", "") : null,
                    top.has("publication") ? top.string("publication", "") : null, top.integer("discover-tables-every-ms", 5000),
                    top.integer("heartbeat-interval-ms", HEARTBEAT_INTERVAL.toMillis()));
        }
    }

    /** {@code batch:} how many changes one shadow transaction holds at most, and how long a batch waits to fill. */
    record Batch(long maxRows, long maxDelayMs) {
        Batch {
            new Checks("batch").range("max-rows", maxRows, 1, 1_000_000).range("max-delay-ms", maxDelayMs, 0, 600_000).done();
        }

        static Batch from(Section top) {
            Section s = top.section("batch", Set.of("max-rows", "max-delay-ms"), false);
            return new Batch(s.integer("max-rows", 2048), s.integer("max-delay-ms", 200));
        }
    }

    /** {@code rate-limit:} 0 is unlimited. */
    record RateLimits(long rowsPerSecond, long bytesPerSecond) {
        RateLimits {
            new Checks("rate-limit").range("rows-per-second", rowsPerSecond, 0, Long.MAX_VALUE)
                    .range("bytes-per-second", bytesPerSecond, 0, Long.MAX_VALUE).done();
        }

        static RateLimits from(Section top) {
            Section s = top.section("rate-limit", Set.of("rows-per-second", "bytes-per-second"), false);
            return new RateLimits(s.integer("rows-per-second", 0), s.integer("bytes-per-second", 0));
        }

        RateLimit toRateLimit() {
            return new RateLimit(rowsPerSecond, bytesPerSecond);
        }
    }

    /** {@code snapshot:} */
    record Snapshot(String method, long parallelism, long chunkMb, long chunkRows, long claimTimeoutMs) {
        Snapshot {
            new Checks("snapshot").that(method.equals("copy") || method.equals("debezium"), "method",
                            "must be copy or debezium, got '" + method + "'")
                    .range("parallelism", parallelism, 1, 64).range("chunk-mb", chunkMb, 0, 1_048_576)
                    .range("chunk-rows", chunkRows, 100, 1_000_000).range("claim-timeout-ms", claimTimeoutMs, 1_000, 3_600_000).done();
        }

        static Snapshot from(Section top) {
            Section s = top.section("snapshot", Set.of("method", "parallelism", "chunk-mb", "chunk-rows", "claim-timeout-ms"), false);
            return new Snapshot(s.string("method", "copy"), s.integer("parallelism", 2),
                    s.integer("chunk-mb", SnapshotSettings.DEFAULT_CHUNK_MB), s.integer("chunk-rows", SnapshotSettings.DEFAULT_CHUNK_ROWS),
                    s.integer("claim-timeout-ms", SnapshotSettings.DEFAULT_CLAIM_TIMEOUT_MS));
        }

        SnapshotSettings toSettings() {
            return new SnapshotSettings(method.equals("copy") ? SnapshotSettings.Method.COPY : SnapshotSettings.Method.DEBEZIUM,
                    (int) parallelism, (int) chunkMb, (int) chunkRows, (int) claimTimeoutMs);
        }
    }

    /** {@code stream:} which reader streams, whatever took the snapshot. */
    record Stream(String reader) {
        Stream {
            new Checks("stream").that(StreamReader.named(reader).isPresent(), "reader",
                    "must be " + StreamReader.names() + ", got '" + reader + "'").done();
        }

        static Stream from(Section top) {
            return new Stream(top.section("stream", Set.of("reader"), false).string("reader", StreamReader.PGOUTPUT.configName()));
        }

        StreamReader toReader() {
            return StreamReader.named(reader).orElseThrow();
        }
    }

    /** {@code retry:} backoff for the shadow's and the source's transient faults. */
    record Retry(long initialBackoffMs, long maxBackoffMs, long giveUpAfterS) {
        Retry {
            Checks c = new Checks("retry").range("initial-backoff-ms", initialBackoffMs, 1, 600_000)
                    .range("max-backoff-ms", maxBackoffMs, 1, 3_600_000).range("give-up-after-s", giveUpAfterS, 0, 7 * 24 * 3600);
            c.that(maxBackoffMs >= initialBackoffMs, "max-backoff-ms",
                    "(" + maxBackoffMs + ") must be >= initial-backoff-ms (" + initialBackoffMs + ")");
            c.done();
        }

        static Retry from(Section top) {
            Section s = top.section("retry", Set.of("initial-backoff-ms", "max-backoff-ms", "give-up-after-s"), false);
            return new Retry(s.integer("initial-backoff-ms", 200), s.integer("max-backoff-ms", 30_000), s.integer("give-up-after-s", 600));
        }

        RetryPolicy toPolicy() {
            return new RetryPolicy(Duration.ofMillis(initialBackoffMs), Duration.ofMillis(maxBackoffMs), Duration.ofSeconds(giveUpAfterS));
        }
    }

    /** {@code errors:} what a change the shadow rejects does. */
    record Errors(String tolerance) {
        Errors {
            new Checks("errors").that(tolerance.equals("none") || tolerance.equals("all"), "tolerance",
                    "must be none (stop on a change the shadow rejects) or all (store it as a dead letter and go on), got '"
                            + tolerance + "'").done();
        }

        static Errors from(Section top) {
            return new Errors(top.section("errors", Set.of("tolerance"), false).string("tolerance", "none"));
        }

        boolean tolerant() {
            return tolerance.equals("all");
        }
    }

    /** {@code metrics:} the operations endpoint; port 0 is off. */
    record Metrics(String host, long port) {
        Metrics {
            new Checks("metrics").range("port", port, 0, 65535).done();
        }

        static Metrics from(Section top) {
            Section s = top.section("metrics", Set.of("host", "port"), false);
            return new Metrics(s.string("host", "127.0.0.1"), s.integer("port", 9464));
        }
    }

    /** {@code schema:} owners, grants, DDL capture and the drift check. */
    record Schema(boolean copyOwnership, boolean copyPrivileges, boolean captureDdl, long checkIntervalMs) {
        Schema {
            new Checks("schema").range("check-interval-ms", checkIntervalMs, 0, 86_400_000).done();
        }

        static Schema from(Section top) {
            Section s = top.section("schema", Set.of("copy-ownership", "copy-privileges", "capture-ddl", "check-interval-ms"), false);
            return new Schema(s.bool("copy-ownership", false), s.bool("copy-privileges", false), s.bool("capture-ddl", false),
                    s.integer("check-interval-ms", SchemaSettings.CHECK_INTERVAL_MS));
        }

        SchemaSettings toSettings() {
            return new SchemaSettings(copyOwnership, copyPrivileges, captureDdl, checkIntervalMs);
        }
    }

    /** {@code sequences:} how often cdc copies sequence values; 0 only at the snapshot's end and caught-up exits. */
    record Sequences(long syncIntervalMs) {
        Sequences {
            new Checks("sequences").range("sync-interval-ms", syncIntervalMs, 0, 86_400_000).done();
        }

        static Sequences from(Section top) {
            return new Sequences(top.section("sequences", Set.of("sync-interval-ms"), false).integer("sync-interval-ms",
                    SEQUENCE_SYNC_INTERVAL.toMillis()));
        }
    }
}
