package dev.scry.backfill.source;

import org.apache.kafka.connect.data.Struct;

import io.debezium.data.Envelope;
import io.debezium.pipeline.ConnectorEvent;
import io.debezium.pipeline.metrics.ChangeEventSourceMetrics;
import io.debezium.pipeline.metrics.StreamingChangeEventSourceMetrics;
import io.debezium.pipeline.source.spi.StreamingProgressListener;
import io.debezium.pipeline.spi.OffsetContext;
import io.debezium.pipeline.spi.Partition;
import io.debezium.spi.schema.DataCollectionId;

/**
 * Debezium's metrics with nothing done per change event (see {@link LeanPostgresConnectorTask}):
 * every other callback, registration and the connection state go to Debezium's own metrics, so
 * its JMX beans exist and say whether the stream is connected; their event counters stay at zero.
 */
final class QuietEventListener<P extends Partition> implements StreamingChangeEventSourceMetrics<P> {

    private final ChangeEventSourceMetrics<P> delegate;

    QuietEventListener(ChangeEventSourceMetrics<P> delegate) {
        this.delegate = delegate;
    }

    @Override
    public void onEvent(P partition, DataCollectionId source, OffsetContext offset, Object key, Struct value,
                        Envelope.Operation operation) {
        // The one call made for every change: deliberately nothing.
    }

    @Override
    public void onFilteredEvent(P partition, String event) {
        delegate.onFilteredEvent(partition, event);
    }

    @Override
    public void onFilteredEvent(P partition, String event, Envelope.Operation operation) {
        delegate.onFilteredEvent(partition, event, operation);
    }

    @Override
    public void onErroneousEvent(P partition, String event) {
        delegate.onErroneousEvent(partition, event);
    }

    @Override
    public void onErroneousEvent(P partition, String event, Envelope.Operation operation) {
        delegate.onErroneousEvent(partition, event, operation);
    }

    @Override
    public void onConnectorEvent(P partition, ConnectorEvent event) {
        delegate.onConnectorEvent(partition, event);
    }

    @Override
    public void onUnchangedEventSkipped(P partition) {
        delegate.onUnchangedEventSkipped(partition);
    }

    @Override
    public void register() {
        delegate.register();
    }

    @Override
    public void unregister() {
        delegate.unregister();
    }

    @Override
    public void connected(boolean connected) {
        if (delegate instanceof StreamingProgressListener listener) {
            listener.connected(connected);
        }
    }
}
