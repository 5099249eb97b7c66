package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ConnectionSettings;

/**
 * One active instance per pipeline: a session-level advisory lock on the shadow, held on a
 * connection of its own for as long as the command runs. PostgreSQL releases it the moment that
 * session ends, however the process died, so a standby waiting for it takes over at once.
 * (Streaming is also exclusive through the slot, which only one walsender can use; the lock
 * covers the snapshot and lets a standby wait instead of failing.)
 */
final class InstanceLock implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(InstanceLock.class);
    // The first key of the two-key advisory lock space, so that other users of advisory locks on
    // the shadow cannot collide with ours by accident.
    private static final int NAMESPACE = 0x5C7B_ACF1;
    private static final String TRY_LOCK = "SELECT pg_try_advisory_lock(?, hashtext(?))";
    private static final String UNLOCK = "SELECT pg_advisory_unlock(?, hashtext(?))";
    private static final String HOLDER = """
            SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.classid::int = ? AND l.objid::int = hashtext(?) AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1""";

    private final Connection connection;
    private final String pipeline;

    private InstanceLock(Connection connection, String pipeline) {
        this.connection = connection;
        this.pipeline = pipeline;
    }

    /**
     * Takes the pipeline's lock. When another instance holds it: refuses with who holds it, or with
     * {@code standby}, waits until it is released (the active instance stopped or died), after
     * calling {@code waiting} once.
     */
    static InstanceLock acquire(ConnectionSettings shadow, String pipeline, boolean standby, Runnable waiting)
            throws SQLException, InterruptedException {
        Connection c = ConnectionFactory.open(shadow, "shadow", "scry-backfill " + pipeline + " (pid " + ProcessHandle.current().pid() + ")");
        try {
            boolean announced = false;
            while (!tryLock(c, pipeline)) {
                String holder = holder(c, pipeline).orElse("another session");
                if (!standby) {
                    throw new SetupException("pipeline " + pipeline + " is already running (" + holder + " holds its lock on the"
                            + " shadow); stop that instance first, or set `standby: true` to wait as a hot standby");
                }
                if (!announced) {
                    LOG.info("standby: pipeline {} is active elsewhere ({}); taking over when it stops", pipeline, holder);
                    waiting.run();
                    announced = true;
                }
                Thread.sleep(Duration.ofMillis(500).toMillis());
            }
            if (announced) {
                LOG.info("standby: the active instance of pipeline {} is gone; taking over", pipeline);
            }
            return new InstanceLock(c, pipeline);
        }
        catch (SQLException | RuntimeException | InterruptedException e) {
            c.close();
            throw e;
        }
    }

    /** Whether the lock is still held (its session alive). */
    boolean held() {
        try {
            return connection.isValid(5);
        }
        catch (SQLException e) {
            return false;
        }
    }

    private static boolean tryLock(Connection c, String pipeline) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(TRY_LOCK)) {
            ps.setInt(1, NAMESPACE);
            ps.setString(2, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    /**
     * Who holds the pipeline's lock (the command running it: its application name, address and
     * shadow backend pid), or empty when no session does. Reads only; {@code status} asks this.
     */
    static java.util.Optional<String> holder(Connection c, String pipeline) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(HOLDER)) {
            ps.setInt(1, NAMESPACE);
            ps.setString(2, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return java.util.Optional.empty();
                }
                // Another role's session shows no application name or address without pg_read_all_stats.
                String name = rs.getString(1) == null || rs.getString(1).isEmpty() ? "a session" : "'" + rs.getString(1) + "'";
                return java.util.Optional.of(name + " from " + (rs.getString(2) == null ? "a local socket" : rs.getString(2))
                        + ", shadow backend pid " + rs.getInt(3));
            }
        }
    }

    /**
     * Releases the lock, then closes its session. The release is said before the close: a closed
     * connection's backend lets go of the lock only once it has read the goodbye and exited, a few
     * milliseconds later, during which `status` run right after the command (or a standby) still
     * saw the command running.
     */
    @Override
    public void close() {
        try (PreparedStatement ps = connection.prepareStatement(UNLOCK)) {
            ps.setInt(1, NAMESPACE);
            ps.setString(2, pipeline);
            ps.executeQuery().close();
        }
        catch (SQLException e) {
            // The session is gone already, and its lock with it.
            LOG.debug("releasing the instance lock: {}", e.toString());
        }
        try {
            connection.close();
        }
        catch (SQLException e) {
            LOG.debug("closing the instance lock's connection: {}", e.toString());
        }
    }
}
