package dev.scry.backfill.source;

import java.lang.reflect.Field;
import java.util.List;

import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.debezium.config.Configuration;
import io.debezium.connector.postgresql.PostgresConnectorTask;
import io.debezium.connector.postgresql.PostgresOffsetContext;
import io.debezium.connector.postgresql.PostgresPartition;
import io.debezium.pipeline.ChangeEventSourceCoordinator;
import io.debezium.pipeline.EventDispatcher;
import io.debezium.pipeline.metrics.SnapshotChangeEventSourceMetrics;
import io.debezium.pipeline.metrics.StreamingChangeEventSourceMetrics;

/**
 * Debezium's PostgreSQL task without the per-event "last event" metric. In Debezium 3.6.1 every
 * change event passes through {@code CommonEventMeter.onEvent}, which formats a summary of the
 * whole event ({@code EventMetadataProvider.toSummaryString} → {@code SchemaUtil.asDetailedString}
 * of the key, the source position and both row images) for the JMX attribute {@code LastEvent},
 * unconditionally; profiled here it was 27 to 40% of the engine's streaming thread. The pipeline
 * never reads Debezium's JMX metrics (it counts changes itself), so its event listener is
 * replaced by one that skips the per-event counters and passes every other callback on.
 *
 * <p>Debezium builds its metrics inside {@code PostgresConnectorTask.start} with no factory to
 * override, so the coordinator's streaming metrics are swapped after it is built, through its
 * protected fields. Should a later Debezium rename them, the task runs as Debezium's own (with
 * the metric, slower) and says so once; nothing about the data depends on it. The swap in
 * {@code start} can lose a race with the coordinator's thread, which installs the metrics as its
 * event listener when streaming begins; every poll therefore installs the quiet listener again
 * (one field write per batch).
 */
public final class LeanPostgresConnectorTask extends PostgresConnectorTask {

    private static final Logger LOG = LoggerFactory.getLogger(LeanPostgresConnectorTask.class);

    private EventDispatcher<PostgresPartition, ?> dispatcher;
    private ChangeEventSourceCoordinator<PostgresPartition, PostgresOffsetContext> running;
    private QuietEventListener<PostgresPartition> streaming;
    private QuietEventListener<PostgresPartition> snapshot;

    @Override
    @SuppressWarnings("unchecked")
    public ChangeEventSourceCoordinator<PostgresPartition, PostgresOffsetContext> start(Configuration config) {
        ChangeEventSourceCoordinator<PostgresPartition, PostgresOffsetContext> coordinator = super.start(config);
        try {
            Field metrics = field("streamingMetrics");
            streaming = new QuietEventListener<>((StreamingChangeEventSourceMetrics<PostgresPartition>) metrics.get(coordinator));
            metrics.set(coordinator, streaming);
            SnapshotChangeEventSourceMetrics<PostgresPartition> snapshotMetrics =
                    (SnapshotChangeEventSourceMetrics<PostgresPartition>) field("snapshotMetrics").get(coordinator);
            snapshot = new QuietEventListener<>(snapshotMetrics);
            dispatcher = (EventDispatcher<PostgresPartition, ?>) field("eventDispatcher").get(coordinator);
            running = coordinator;
            installListener();
        }
        catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("Debezium's per-event metrics stay on (this Debezium version is laid out differently: {}); streaming is slower", e.toString());
        }
        return coordinator;
    }

    @Override
    public List<SourceRecord> doPoll() throws InterruptedException {
        installListener();
        return super.doPoll();
    }

    private void installListener() {
        if (dispatcher != null) {
            dispatcher.setEventListener(running.getStreamingSource().isPresent() ? streaming : snapshot);
        }
    }

    private static Field field(String name) throws NoSuchFieldException {
        Field f = ChangeEventSourceCoordinator.class.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }
}
