package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;

import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

class EngineFailuresTest {

    /** Debezium 3.6.1's words when the source went down between our probe and the connector's check. */
    private static final String REFUSED_IN_VALIDATION = "Connector configuration is not valid. Error while validating connector"
            + " config: Connection to 127.0.0.1:54320 refused. Check that the hostname and port are correct and that the"
            + " postmaster is accepting TCP/IP connections.";

    @Test
    void aConfigurationCheckThatCouldNotConnectIsAConnectionFault() {
        Exception e = new io.debezium.DebeziumException(REFUSED_IN_VALIDATION);
        assertThat(EngineFailures.isConnectionFault(e)).isTrue();
        assertThat(EngineFailures.isConnectionFault(new RuntimeException("wrapped", e))).isTrue();
        assertThat(EngineFailures.isConnectionFault(new io.debezium.DebeziumException("Connector configuration is not valid."
                + " Error while validating connector config: FATAL: the database system is shutting down"))).isTrue();
    }

    @Test
    void aConfigurationCheckThatFailedForAnotherReasonIsNot() {
        Exception e = new io.debezium.DebeziumException("Connector configuration is not valid. Error while validating connector"
                + " config: FATAL: password authentication failed for user \"scry\"");
        assertThat(EngineFailures.isConnectionFault(e)).isFalse();
        // Words about connections outside a configuration check decide nothing by themselves.
        assertThat(EngineFailures.isConnectionFault(new IllegalStateException("Connection to x refused. Check that the hostname"
                + " and port are correct"))).isFalse();
    }

    @Test
    void aClosedReplicationStreamAndARefusedConnectionAreConnectionFaults() {
        assertThat(EngineFailures.isConnectionFault(new RuntimeException(
                new PSQLException("This replication stream has been closed.", null)))).isTrue();
        assertThat(EngineFailures.isConnectionFault(new RuntimeException(new PSQLException("Connection to 127.0.0.1:1 refused.",
                PSQLState.CONNECTION_UNABLE_TO_CONNECT, new ConnectException("Connection refused"))))).isTrue();
        assertThat(EngineFailures.isConnectionFault(new RuntimeException(new PSQLException("relation \"t\" does not exist",
                PSQLState.UNDEFINED_TABLE)))).isFalse();
    }
}
