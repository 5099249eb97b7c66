package dev.scry.backfill.source;

import org.apache.kafka.connect.connector.Task;

import io.debezium.connector.postgresql.PostgresConnector;

/**
 * Debezium's PostgreSQL connector with {@link LeanPostgresConnectorTask} as its task: the engine
 * is configured with this class ({@code connector.class}) so that the per-event work only JMX
 * would use is left out. Everything else is Debezium's own connector.
 */
public final class LeanPostgresConnector extends PostgresConnector {

    @Override
    public Class<? extends Task> taskClass() {
        return LeanPostgresConnectorTask.class;
    }
}
