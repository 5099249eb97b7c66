package dev.scry.backfill.source;

import java.sql.SQLException;
import java.util.List;

import dev.scry.backfill.error.SqlErrors;

/**
 * Tells a lost source connection apart from a real failure when the Debezium engine stops. The
 * engine does not always keep the driver's exception: a replication stream the server closed comes
 * back as bare pgjdbc messages without SQLSTATE, and a server that goes away between our probe and
 * the connector's own configuration check comes back as "Connector configuration is not valid"
 * with the driver's message reduced to text. Both are connection faults, to be retried.
 */
final class EngineFailures {

    /** What pgjdbc and the server say when a connection is refused, dropped or not accepted yet. */
    private static final List<String> CONNECTION_TEXTS = List.of(
            "refused. Check that the hostname and port are correct",
            "The connection attempt failed",
            "Connection attempt timed out",
            "An I/O error occurred while sending to the backend",
            "the database system is shutting down",
            "the database system is starting up",
            "the database system is not yet accepting connections",
            "the database system is in recovery mode",
            "terminating connection due to administrator command",
            "Connection reset");

    /** The engine's own words for a configuration check that could not connect. */
    static final String VALIDATION_FAILED = "Connector configuration is not valid";

    private EngineFailures() {
    }

    /** Whether the failure that stopped the engine is the source connection going away. */
    static boolean isConnectionFault(Throwable t) {
        return SqlErrors.isTransientChain(t) || replicationStreamBroken(t) || validationCouldNotConnect(t);
    }

    /**
     * pgjdbc reports a replication connection that the server closed (walsender terminated,
     * server restarting) in ways that carry no connection SQLSTATE, depending on which thread
     * notices first: a status update written to "an inactive copy operation", "This replication
     * stream has been closed".
     */
    static boolean replicationStreamBroken(Throwable t) {
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            String m = c.getMessage();
            if (c instanceof SQLException && m != null && (m.contains("inactive copy operation")
                    || m.contains("replication stream has been closed") || m.contains("Database connection failed"))) {
                return true;
            }
        }
        return false;
    }

    /** The connector's configuration check failed because it could not connect, not because of the configuration. */
    static boolean validationCouldNotConnect(Throwable t) {
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            String m = c.getMessage();
            if (m != null && m.contains(VALIDATION_FAILED) && CONNECTION_TEXTS.stream().anyMatch(m::contains)) {
                return true;
            }
        }
        return false;
    }
}
