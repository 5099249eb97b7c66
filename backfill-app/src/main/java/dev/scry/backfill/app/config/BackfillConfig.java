package dev.scry.backfill.app.config;

import java.time.Duration;
import java.util.List;

import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.error.RetryPolicy;
import dev.scry.backfill.sink.SinkSettings;
import dev.scry.backfill.sink.schema.SchemaSettings;
import dev.scry.backfill.snapshot.SnapshotSettings;
import dev.scry.backfill.transform.TransformConfig;
import dev.scry.backfill.source.SlotCreation;
import dev.scry.backfill.source.StreamReader;
import dev.scry.backfill.source.StreamSettings;
import dev.scry.backfill.throttle.RateLimit;

/**
 * A validated configuration file. Built only by {@link ConfigLoader}, from the mappings' records
 * ({@link ConfigRecords}), each of which checked its own values; everything downstream trusts it and
 * takes the per-stage settings it hands out.
 */
public record BackfillConfig(String file, String pipeline, ConnectionSettings source, ConnectionSettings shadow,
                             List<TableSelector> selectors, List<TableId> tables, String slot, String publication, int batchMaxRows,
                             Duration batchMaxDelay, RateLimit rateLimit, Duration heartbeatInterval,
                             SnapshotSettings snapshot, Duration discoverTablesEvery, RetryPolicy retry,
                             boolean standby, boolean tolerateErrors, List<TransformConfig> transforms, String metricsHost,
                             int metricsPort, SchemaSettings schema, Duration sequenceSyncInterval, boolean slotFailover,
                             StreamReader reader) {

    /** Checks across mappings, each problem named with its key paths (each mapping checked its own values already). */
    public BackfillConfig {
        Checks c = new Checks("");
        c.that(!(source.host().equalsIgnoreCase(shadow.host()) && source.port() == shadow.port()
                && source.database().equals(shadow.database())), "source",
                "and shadow are the same database (" + source.describe() + "); the shadow must be a different database");
        c.that(!(source.primaryOfSeveral() && snapshot.method() == SnapshotSettings.Method.DEBEZIUM), "source.hosts",
                "needs snapshot.method: copy (the Debezium engine connects to one host); name one server with source.host, or use"
                        + " the copy snapshot");
        c.that(!(source.primaryOfSeveral() && reader == StreamReader.DEBEZIUM), "source.hosts",
                "needs stream.reader: pgoutput (the Debezium engine connects to one host); name one server with source.host, or use"
                        + " the pgoutput reader");
        c.done();
        selectors = List.copyOf(selectors);
        tables = List.copyOf(tables);
        transforms = List.copyOf(transforms);
    }

    /** Whether some entry of {@code tables} is a pattern, so tables can join while the pipeline runs. */
    public boolean hasPatterns() {
        return selectors.stream().anyMatch(TableSelector::isPattern);
    }

    /** The same configuration with {@code tables} resolved against the source's catalog. */
    public BackfillConfig withTables(List<TableId> resolved) {
        return new BackfillConfig(file, pipeline, source, shadow, selectors, resolved, slot, publication, batchMaxRows, batchMaxDelay,
                rateLimit, heartbeatInterval, snapshot, discoverTablesEvery, retry, standby, tolerateErrors, transforms, metricsHost, metricsPort,
                schema, sequenceSyncInterval, slotFailover, reader);
    }

    /** The same configuration with other schema settings (the DDL capture's key, read from the source). */
    public BackfillConfig withSchema(SchemaSettings settings) {
        return new BackfillConfig(file, pipeline, source, shadow, selectors, tables, slot, publication, batchMaxRows, batchMaxDelay,
                rateLimit, heartbeatInterval, snapshot, discoverTablesEvery, retry, standby, tolerateErrors, transforms, metricsHost, metricsPort,
                settings, sequenceSyncInterval, slotFailover, reader);
    }

    /** The same configuration with other shadow connection settings (the sessions' replica role). */
    public BackfillConfig withShadow(ConnectionSettings settings) {
        return new BackfillConfig(file, pipeline, source, settings, selectors, tables, slot, publication, batchMaxRows, batchMaxDelay,
                rateLimit, heartbeatInterval, snapshot, discoverTablesEvery, retry, standby, tolerateErrors, transforms, metricsHost, metricsPort,
                schema, sequenceSyncInterval, slotFailover, reader);
    }

    /** The schemas a pattern takes whole ({@code shop.*}): those of the resolved tables that such a pattern matches. */
    public List<String> wholeSchemas(List<String> schemas) {
        return schemas.stream().filter(this::takesWholeSchema).toList();
    }

    /**
     * Whether a pattern takes the schema whole; never the pipeline's own schema (the DDL capture's
     * functions on the source, the metadata on the shadow).
     */
    public boolean takesWholeSchema(String schema) {
        return !schema.equals("scry_backfill") && selectors.stream().anyMatch(sel -> sel.takesWholeSchema(schema));
    }

    public StreamSettings streamSettings() {
        return new StreamSettings(pipeline, source, selectors, slot, publication, batchMaxRows, batchMaxDelay, heartbeatInterval,
                slotCreation(), reader, snapshot.method() == SnapshotSettings.Method.DEBEZIUM);
    }

    /** How the pipeline's slot is created: as a failover slot where the server has them, unless {@code slot-failover: false}. */
    public SlotCreation slotCreation() {
        return new SlotCreation(slotFailover);
    }

    public SinkSettings sinkSettings() {
        return new SinkSettings(pipeline, slot, shadow, retry, tolerateErrors, this::takesWholeSchema, schema.captureKey());
    }
}
