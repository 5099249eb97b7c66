package dev.scry.backfill.source;

import java.util.Properties;
import java.util.stream.Collectors;

import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;

/**
 * The embedded Debezium engine's configuration, in one place. The choices that matter for exact
 * copies and exact resume are commented where they are made.
 */
final class EngineProperties {

    /** Where the engine starts when no checkpoint exists. */
    enum Start {
        /** Consistent snapshot under the new slot's exported snapshot, then streaming. */
        SNAPSHOT_THEN_STREAM,
        /** Streaming from the slot's position (created now if missing); no copy of existing rows. */
        STREAM_ONLY
    }

    /** The field schema parameter that carries each column's source type name (see column.propagate.source.type). */
    static final String SOURCE_TYPE_PARAMETER = "__debezium.source.column.type";

    // The prefix of the logical-decoding message each heartbeat writes.
    static final String HEARTBEAT_PREFIX = SourceAdmin.MARKER_PREFIX + "-heartbeat";

    private EngineProperties() {
    }

    static Properties build(StreamSettings s, Start start, OffsetStorage offsets, ToastPlaceholder placeholder) {
        Properties p = new Properties();
        p.setProperty("name", "scry-backfill-" + s.pipeline());
        // Debezium's connector, less the per-event work of a JMX metric we never read (see the task).
        p.setProperty("connector.class", LeanPostgresConnector.class.getName());
        p.setProperty("topic.prefix", s.pipeline());

        p.setProperty("database.hostname", s.source().host());
        p.setProperty("database.port", Integer.toString(s.source().port()));
        p.setProperty("database.dbname", s.source().database());
        p.setProperty("database.user", s.source().user());
        // Debezium masks properties ending in "password" when it logs its configuration.
        p.setProperty("database.password", s.source().password());
        p.setProperty("database.tcpKeepAlive", "true");
        p.setProperty("database.sslmode", s.source().sslMode());
        if (s.source().sslRootCert() != null) {
            p.setProperty("database.sslrootcert", s.source().sslRootCert());
        }

        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", s.slot());
        p.setProperty("publication.name", s.publication());
        // We create and extend the publication ourselves, quoting every name.
        p.setProperty("publication.autocreate.mode", "disabled");
        p.setProperty("slot.drop.on.stop", "false");
        p.setProperty("table.include.list", s.tables().stream().map(EngineProperties::tableRegex).collect(Collectors.joining(",")));
        p.setProperty("snapshot.mode", start == Start.SNAPSHOT_THEN_STREAM ? "initial" : "no_data");
        p.setProperty("snapshot.max.threads", "1");
        // No restarts inside the engine: a task restarted during the snapshot would take a new
        // snapshot that is not the one the slot exported (changes could fall between the two),
        // and one restarted while streaming would re-deliver what the batcher still holds. A
        // failure ends the run instead, and `resume` starts cleanly from the checkpoint.
        p.setProperty("errors.max.retries", "0");

        // Offsets: read from the checkpoint table at start; written by the sink in the same shadow
        // transaction as the rows. The engine's own flush only confirms the LSN to the slot, which
        // it must do after every batch (interval 0), never on a timer.
        p.setProperty("offset.storage", offsets.className());
        offsets.properties().forEach(p::setProperty);
        p.setProperty("offset.flush.interval.ms", "0");
        p.setProperty("offset.flush.timeout.ms", "60000");

        // BEGIN/END records let batches end exactly on source transaction boundaries.
        p.setProperty("provide.transaction.metadata", "true");
        p.setProperty("tombstones.on.delete", "false");
        // Context headers on every record are for Kafka consumers; building them was 4% of the
        // engine's streaming thread, which is what bounds the catch-up rate.
        p.setProperty("extended.headers.enabled", "false");
        // Debezium skips TRUNCATE by default; the shadow must see it.
        p.setProperty("skipped.operations", "none");
        // Our caught-up markers are the only logical-decoding messages we want, and the heartbeats'
        // own (below): the connector drops a message outside this list before it moves its position,
        // so without it a heartbeat on quiet tables never moved the slot (HeartbeatIT).
        p.setProperty("message.prefix.include.list", SourceAdmin.MARKER_PREFIX + "," + HEARTBEAT_PREFIX);

        // Representations that keep every value exact (see ValueText): numeric as its decimal
        // string (keeps scale, NaN, any precision), times in microseconds, bytea as raw bytes.
        p.setProperty("decimal.handling.mode", "string");
        p.setProperty("time.precision.mode", "adaptive_time_microseconds");
        p.setProperty("binary.handling.mode", "bytes");
        p.setProperty("interval.handling.mode", "string");
        p.setProperty("hstore.handling.mode", "json");
        p.setProperty("include.unknown.datatypes", "false");
        // Each field's schema names the column's source type, so the sink can tell whether a type
        // change in the source's catalog has reached the stream yet.
        p.setProperty("column.propagate.source.type", ".*");
        // Debezium's default ("warn") writes NULL for a value it fails to convert and logs a line:
        // data loss. Stop instead.
        p.setProperty("event.converting.failure.handling.mode", "fail");
        p.setProperty("unavailable.value.placeholder", placeholder.text());
        // Dates and arrays bypass Debezium's own conversions, which lose values (see each class).
        p.setProperty("converters", "scrydate,scryarray,scrytext");
        p.setProperty("scrytext.type", PlainTextConverter.class.getName());
        p.setProperty("scrytext." + PlainTextConverter.PLACEHOLDER, placeholder.text());
        p.setProperty("scrydate.type", DateTextConverter.class.getName());
        p.setProperty("scryarray.type", ArrayTextConverter.class.getName());
        p.setProperty("scryarray." + ArrayTextConverter.PLACEHOLDER, placeholder.text());

        // Batching: Debezium's poll returns when max.batch.size records are queued or
        // poll.interval.ms has passed, which is exactly batch.max-rows / batch.max-delay-ms.
        int maxRows = s.maxBatchRows();
        p.setProperty("max.batch.size", Integer.toString(maxRows));
        p.setProperty("max.queue.size", Integer.toString(Math.max(maxRows * 4, 8192)));
        p.setProperty("poll.interval.ms", Long.toString(Math.max(1, s.maxBatchDelay().toMillis())));
        // Heartbeats carry the position while the configured tables are idle; one is also always
        // emitted when the snapshot completes, which is how an empty snapshot is seen to finish.
        p.setProperty("heartbeat.interval.ms", Long.toString(s.heartbeatInterval().toMillis()));
        // A slot only moves when changes of its own database come out of it: on a quiet database
        // next to busy ones the server would keep every WAL segment since the last change. Each
        // heartbeat therefore writes a tiny non-transactional logical message into this
        // database's WAL (no table is touched); decoding it moves the stream's position, the next
        // heartbeat carries that position to the checkpoint, and the slot confirms it.
        p.setProperty("heartbeat.action.query", "SELECT pg_logical_emit_message(false, '" + HEARTBEAT_PREFIX + "', '')");
        return p;
    }

    /**
     * Debezium matches {@code schema.table} against regular expressions split on commas; escape
     * every character that is not a letter, digit or underscore (commas included) so the pattern
     * matches exactly this table.
     */
    static String exactTableRegex(TableId table) {
        return escape(table.schema()) + "\\." + escape(table.name());
    }

    /** The same for a configured entry; a {@code *} of a pattern matches any run of characters. */
    static String tableRegex(TableSelector selector) {
        return part(selector.schema(), selector.schemaGlob()) + "\\." + part(selector.name(), selector.nameGlob());
    }

    private static String part(String text, boolean glob) {
        if (!glob) {
            return escape(text);
        }
        StringBuilder out = new StringBuilder();
        String[] pieces = text.split("\\*", -1);
        for (int i = 0; i < pieces.length; i++) {
            out.append(i == 0 ? "" : ".*").append(escape(pieces[i]));
        }
        return out.toString();
    }

    private static String escape(String part) {
        StringBuilder out = new StringBuilder(part.length() + 8);
        part.codePoints().forEach(cp -> {
            if (Character.isLetterOrDigit(cp) || cp == '_') {
                out.appendCodePoint(cp);
            }
            else {
                out.append('\\').appendCodePoint(cp);
            }
        });
        return out.toString();
    }
}
