package dev.scry.backfill.model;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.RetryPolicy;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.error.TransientException;

/**
 * Every connection the pipeline opens to the source or the shadow, with one failure policy:
 * a connect that fails for a reason that goes away by itself (refused while the server restarts,
 * too many connections, the server starting up) is tried again with backoff for a few seconds;
 * then, or at once for anything else, the failure is one line that names the side, its
 * {@code user@host:port/database} (never the password) and the setting to check:
 * <ul>
 * <li>{@link SetupException} (exit 2): the login or the database is wrong;</li>
 * <li>{@link TransientException}: the server cannot be reached now; a stream retries it from its
 *     checkpoint, a command that only started stops with exit 1;</li>
 * <li>{@link PipelineFailure}: anything retrying will not mend (TLS refused, ...).</li>
 * </ul>
 */
public final class ConnectionFactory {

    /**
     * Bounded below the connect timeout: an attempt that waited out the timeout is not repeated,
     * so an unreachable host fails in about {@link ConnectionSettings#CONNECT_TIMEOUT_SECONDS}.
     */
    public static final RetryPolicy CONNECT_RETRY = new RetryPolicy(Duration.ofMillis(250), Duration.ofSeconds(2), Duration.ofSeconds(8));

    /** How a failed connect is treated. */
    public enum Failure {
        /** Wrong user or password: exit 2, check side.user and side.password. */
        LOGIN,
        /** No such database on the server: exit 2, check side.database. */
        NO_DATABASE,
        /** The host name does not resolve: not retried here (a typo stays one), transient for a running stream. */
        UNRESOLVED_HOST,
        /** Refused, reset, server starting or out of connections: retried with backoff. */
        TRANSIENT,
        /** TLS refused and whatever else retrying does not mend. */
        FATAL
    }

    /** Opens one connection; what the factory retries. */
    @FunctionalInterface
    interface Connector {
        Connection connect() throws SQLException;
    }

    /** How the factory waits between attempts (tests wait for nothing). */
    @FunctionalInterface
    interface Sleeper {
        void sleep(long millis) throws InterruptedException;
    }

    private ConnectionFactory() {
    }

    /** A plain connection, named {@code scry-backfill <side>} in pg_stat_activity. */
    public static Connection open(ConnectionSettings where, String side) {
        return open(where, side, "scry-backfill " + side);
    }

    /**
     * A plain connection.
     *
     * @param side        {@code source} or {@code shadow}: the configuration section the settings came from
     * @param application the session's name in pg_stat_activity
     */
    public static Connection open(ConnectionSettings where, String side, String application) {
        return open(where, side, where.jdbcProperties(application));
    }

    /** A replication connection (the logical replication protocol and the replication commands). */
    public static Connection openReplication(ConnectionSettings where, String side, String application) {
        return open(where, side, where.replicationProperties(application));
    }

    /**
     * One attempt within {@code timeout}, for health probes that ask again soon on their own:
     * empty when the server cannot be reached now.
     */
    public static Optional<Connection> probe(ConnectionSettings where, String application, Duration timeout) {
        Properties p = where.jdbcProperties(application);
        String seconds = Long.toString(Math.max(1, timeout.toSeconds()));
        p.setProperty("connectTimeout", seconds);
        p.setProperty("loginTimeout", seconds);
        try {
            return Optional.of(DriverManager.getConnection(where.jdbcUrl(), p));
        }
        catch (SQLException e) {
            return Optional.empty();
        }
    }

    private static Connection open(ConnectionSettings where, String side, Properties properties) {
        return open(() -> DriverManager.getConnection(where.jdbcUrl(), properties), where, side, CONNECT_RETRY, Thread::sleep);
    }

    static Connection open(Connector connector, ConnectionSettings where, String side, RetryPolicy retry, Sleeper sleeper) {
        RetryPolicy.Attempts attempts = retry.start();
        while (true) {
            try {
                return connector.connect();
            }
            catch (SQLException e) {
                long delay = classify(e) == Failure.TRANSIENT ? attempts.nextDelayMillis() : -1;
                if (delay < 0) {
                    throw failure(e, where, side);
                }
                try {
                    sleeper.sleep(delay);
                }
                catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw failure(e, where, side);
                }
            }
        }
    }

    /** The policy: which failures of a connect are worth another attempt, and which say what to fix. */
    public static Failure classify(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (state.equals("28P01") || state.equals("28000")) {
            return Failure.LOGIN;
        }
        if (state.equals("3D000")) {
            return Failure.NO_DATABASE;
        }
        if (SqlErrors.unresolvedHost(e).isPresent()) {
            return Failure.UNRESOLVED_HOST;
        }
        for (Throwable c = e; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException || c instanceof java.security.GeneralSecurityException) {
                return Failure.FATAL;
            }
        }
        return SqlErrors.isTransient(e) ? Failure.TRANSIENT : Failure.FATAL;
    }

    /** The one-line exception for a connect that failed for good. */
    static RuntimeException failure(SQLException e, ConnectionSettings where, String side) {
        String at = side + " " + where.describe();
        return switch (classify(e)) {
            case LOGIN -> new SetupException("cannot log in to " + at + ": " + SqlErrors.describe(e)
                    + "; check " + side + ".user and " + side + ".password", e);
            case NO_DATABASE -> new SetupException("database " + where.database() + " does not exist on " + side + " "
                    + where.host() + ":" + where.port() + "; check " + side + ".database", e);
            case UNRESOLVED_HOST -> new TransientException("cannot connect to " + at + ": the host name "
                    + SqlErrors.unresolvedHost(e).get() + " does not resolve (no DNS or /etc/hosts entry); check " + side + ".host", e);
            case TRANSIENT -> new TransientException("cannot connect to " + at + ": " + rootMessage(e)
                    + "; check " + side + ".host and " + side + ".port and that the server is running", e);
            case FATAL -> new PipelineFailure("cannot connect to " + at + ": " + rootMessage(e)
                    + "; check " + side + ".host, " + side + ".port, " + side + ".sslmode and " + side + ".sslrootcert", e);
        };
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        int newline = m.indexOf('\n');
        return newline >= 0 ? m.substring(0, newline) : m;
    }
}
