package dev.scry.backfill.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLHandshakeException;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.RetryPolicy;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.model.ConnectionFactory.Failure;

class ConnectionFactoryTest {

    private static final ConnectionSettings SHADOW = new ConnectionSettings("db.example", 6543, "shadow", "scry", "s3cret pass");
    private static final RetryPolicy QUICK = new RetryPolicy(Duration.ofMillis(5), Duration.ofMillis(20), Duration.ofMillis(150));

    private static SQLException refused() {
        return new SQLException("Connection to db.example:6543 refused.", "08001", new ConnectException("Connection refused"));
    }

    @Test
    void serversThatCannotBeReachedNowAreTransient() {
        assertThat(ConnectionFactory.classify(refused())).isEqualTo(Failure.TRANSIENT);
        assertThat(ConnectionFactory.classify(new SQLException("the database system is starting up", "57P03")))
                .isEqualTo(Failure.TRANSIENT);
        assertThat(ConnectionFactory.classify(new SQLException("sorry, too many clients already", "53300"))).isEqualTo(Failure.TRANSIENT);
        assertThat(ConnectionFactory.classify(new SQLException("terminating connection due to administrator command", "57P01")))
                .isEqualTo(Failure.TRANSIENT);
    }

    @Test
    void wrongLoginDatabaseHostOrCertificateAreNotRetried() {
        assertThat(ConnectionFactory.classify(new SQLException("password authentication failed for user \"scry\"", "28P01")))
                .isEqualTo(Failure.LOGIN);
        assertThat(ConnectionFactory.classify(new SQLException("no pg_hba.conf entry", "28000"))).isEqualTo(Failure.LOGIN);
        assertThat(ConnectionFactory.classify(new SQLException("database \"shadow\" does not exist", "3D000")))
                .isEqualTo(Failure.NO_DATABASE);
        assertThat(ConnectionFactory.classify(new SQLException("The connection attempt failed.", "08001",
                new UnknownHostException("db.example")))).isEqualTo(Failure.UNRESOLVED_HOST);
        assertThat(ConnectionFactory.classify(new SQLException("SSL error", "08006", new SSLHandshakeException("PKIX path building failed"))))
                .isEqualTo(Failure.FATAL);
        assertThat(ConnectionFactory.classify(new SQLException("permission denied", "42501"))).isEqualTo(Failure.FATAL);
    }

    @Test
    void aRefusedConnectIsTriedAgainWithBoundedBackoffUntilItSucceeds() {
        AtomicInteger calls = new AtomicInteger();
        List<Long> delays = new ArrayList<>();

        ConnectionFactory.open(() -> {
            if (calls.incrementAndGet() < 4) {
                throw refused();
            }
            return null;
        }, SHADOW, "shadow", QUICK, delays::add);

        assertThat(calls).hasValue(4);
        assertThat(delays).hasSize(3).allSatisfy(d -> assertThat(d).isBetween(5L, 20L));
    }

    @Test
    void aServerThatStaysDownFailsOnceTheBudgetIsSpentWithOneLineNamingWhereAndWhatToCheck() {
        AtomicInteger calls = new AtomicInteger();
        long started = System.nanoTime();

        assertThatThrownBy(() -> ConnectionFactory.open(() -> {
            calls.incrementAndGet();
            throw refused();
        }, SHADOW, "shadow", QUICK, Thread::sleep))
                .isInstanceOf(TransientException.class)
                .hasMessage("cannot connect to shadow scry@db.example:6543/shadow: Connection refused; check shadow.host and shadow.port"
                        + " and that the server is running")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cret").doesNotContain("\n"));

        assertThat(calls.get()).isGreaterThan(1);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
    }

    @Test
    void aWrongPasswordIsRefusedAtOnceAsAConfigurationError() {
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> ConnectionFactory.open(() -> {
            calls.incrementAndGet();
            throw new SQLException("FATAL: password authentication failed for user \"scry\"", "28P01");
        }, SHADOW, "shadow", QUICK, Thread::sleep))
                .isInstanceOf(SetupException.class)
                .hasMessageContaining("cannot log in to shadow scry@db.example:6543/shadow")
                .hasMessageEndingWith("check shadow.user and shadow.password")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cret"));
        assertThat(calls).hasValue(1);
    }

    @Test
    void aRefusedCertificateIsNotRetriedAndNamesTheTlsSettings() {
        AtomicInteger calls = new AtomicInteger();

        assertThatThrownBy(() -> ConnectionFactory.open(() -> {
            calls.incrementAndGet();
            throw new SQLException("SSL error", "08006", new SSLHandshakeException("PKIX path building failed"));
        }, SHADOW, "shadow", QUICK, Thread::sleep))
                .isInstanceOf(PipelineFailure.class)
                .hasMessageContaining("check shadow.host, shadow.port, shadow.sslmode and shadow.sslrootcert");
        assertThat(calls).hasValue(1);
    }

    @Test
    void theConnectBudgetEndsBeforeASecondTimedOutAttempt() {
        // An attempt that waited out the connect timeout is not repeated: an unreachable host fails in one timeout.
        assertThat(ConnectionFactory.CONNECT_RETRY.giveUpAfter())
                .isLessThan(Duration.ofSeconds(ConnectionSettings.CONNECT_TIMEOUT_SECONDS));
        assertThat(ConnectionFactory.CONNECT_RETRY.maxBackoff()).isLessThanOrEqualTo(Duration.ofSeconds(2));
    }
}
