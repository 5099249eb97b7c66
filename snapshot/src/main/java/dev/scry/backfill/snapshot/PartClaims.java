package dev.scry.backfill.snapshot;

import dev.scry.backfill.model.ConnectionFactory;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.SnapshotClaims;
import dev.scry.backfill.model.ConnectionSettings;

/**
 * The parts one process copies, claimed from the snapshot journal (see
 * {@link SnapshotClaims#claim}): the coordinating {@code snapshot} and every
 * {@code snapshot-worker} take parts the same way, so that any of them may copy any part, and a
 * part is copied by whoever claims it first.
 *
 * <p>A claim lasts {@code snapshot.claim-timeout-ms}; a heartbeat thread (on a shadow connection
 * of its own, the copying ones being busy in COPY) renews every claim the process holds three
 * times per timeout. A claim the heartbeat finds expired is lost: the copy under it stops, and
 * its rows could not commit anyway, since the statement that marks the part copied checks the
 * claim again in the rows' transaction. A process that dies, or stops (SIGSTOP, a long pause),
 * stops renewing, and its parts go to the next claimer once the timeout has passed.
 */
final class PartClaims implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PartClaims.class);

    private final SnapshotClaims shared;
    private final ConnectionSettings shadow;
    private final String holder;
    private final int timeoutMillis;
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    private final Set<String> lost = ConcurrentHashMap.newKeySet();
    private final Thread heartbeat;
    private volatile boolean closed;

    PartClaims(SnapshotClaims shared, ConnectionSettings shadow, String role, int timeoutMillis) {
        this.shared = shared;
        this.shadow = shadow;
        this.holder = holderName(role);
        this.timeoutMillis = timeoutMillis;
        this.heartbeat = new Thread(this::beat, "snapshot-claims-heartbeat");
        heartbeat.setDaemon(true);
        heartbeat.start();
    }

    /** How a process appears in the journal ({@code copied_by}): its role, host and process id. */
    static String holderName(String role) {
        return role + "@" + host() + ":" + ProcessHandle.current().pid();
    }

    String holder() {
        return holder;
    }

    /** The next part to copy, claimed under {@code snapshotName} (the export this process imported); empty if none is free. */
    Optional<SnapshotClaims.Claim> claim(Connection dst, String snapshotName) throws SQLException {
        Optional<SnapshotClaims.Claim> claim = shared.claim(dst, snapshotName, holder, timeoutMillis);
        claim.ifPresent(c -> {
            held.add(c.token());
            if (c.previousHolder() != null) {
                LOG.info("part {}: the claim of {} expired; {} copies it", c.part().id(), c.previousHolder(), holder);
            }
        });
        return claim;
    }

    /** Whether the heartbeat found the claim expired: the copy under it is in vain, and stops. */
    boolean lost(SnapshotClaims.Claim claim) {
        return lost.contains(claim.token());
    }

    /** The claim is done with: its part committed, or its copy rolled back. */
    void finished(SnapshotClaims.Claim claim) {
        held.remove(claim.token());
        lost.remove(claim.token());
    }

    /** Gives the claim up at once (a stopped copy), so that another process need not wait for it to expire. Best effort. */
    void release(Connection dst, SnapshotClaims.Claim claim) {
        finished(claim);
        try {
            shared.release(dst, claim.token());
            if (!dst.getAutoCommit()) {
                dst.commit();
            }
        }
        catch (SQLException e) {
            LOG.debug("could not release the claim on part {} (it expires on its own): {}", claim.part().id(), e.getMessage());
        }
    }

    private void beat() {
        Connection c = null;
        long period = Math.max(100, timeoutMillis / 3);
        while (!closed) {
            try {
                Thread.sleep(period);
            }
            catch (InterruptedException e) {
                return;
            }
            if (held.isEmpty()) {
                continue;
            }
            try {
                if (c == null || c.isClosed()) {
                    c = ConnectionFactory.open(shadow, "shadow", "scry-backfill snapshot claims " + holder);
                }
                Set<String> asked = Set.copyOf(held);
                Set<String> renewed = shared.renew(c, asked, timeoutMillis);
                for (String token : asked) {
                    if (!renewed.contains(token) && held.contains(token)) {
                        lost.add(token);
                    }
                }
            }
            catch (SQLException | RuntimeException e) {
                // The claims run out if this keeps failing; the copies' commits are fenced all the same.
                LOG.warn("could not renew the snapshot part claims of {}: {}", holder, e.getMessage());
                close(c);
                c = null;
            }
        }
        close(c);
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            }
            catch (SQLException ignored) {
                // Closing a broken connection.
            }
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        }
        catch (java.io.IOException e) {
            return ManagementFactory.getRuntimeMXBean().getName();
        }
    }

    @Override
    public void close() {
        closed = true;
        heartbeat.interrupt();
    }
}
