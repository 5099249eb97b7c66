package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Lsn;

/**
 * How the pipeline's logical slot is created, in one place for the snapshot (a replication
 * command that exports a snapshot) and for streaming without one (SQL): as a failover slot where
 * the server has them and the configuration wants it ({@code slot-failover}), so that a standby
 * with {@code sync_replication_slots} keeps a copy the pipeline continues from after a failover.
 *
 * @param failover whether the slot should be a failover slot where the server allows it
 */
public record SlotCreation(boolean failover) {

    private static final Logger LOG = LoggerFactory.getLogger(SlotCreation.class);

    /** Whether a slot created on {@code server} now is a failover slot. */
    public boolean failoverOn(SourceServer server) {
        return failover && server.failoverSlots();
    }

    /**
     * The replication command creating slot {@code quotedName} and exporting its snapshot. A
     * temporary slot is never a failover slot (the server refuses: it dies with its session).
     */
    public String exportingCommand(SourceServer server, String quotedName, boolean temporary) {
        beforeCreating(server, quotedName);
        if (!temporary && failoverOn(server)) {
            return "CREATE_REPLICATION_SLOT " + quotedName + " LOGICAL pgoutput (SNAPSHOT 'export', FAILOVER true)";
        }
        return "CREATE_REPLICATION_SLOT " + quotedName + (temporary ? " TEMPORARY" : "") + " LOGICAL pgoutput EXPORT_SNAPSHOT";
    }

    /** Creates the slot through SQL (no snapshot) and returns its consistent point. */
    public Lsn create(Connection c, String name) throws SQLException {
        SourceServer server = SourceServer.of(c);
        beforeCreating(server, name);
        boolean asFailover = failoverOn(server);
        String sql = asFailover ? "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput', false, false, true)"
                : "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput')";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Lsn at = Lsn.parse(rs.getString(1));
                LOG.info("created replication slot {} at {}{}", name, at, asFailover ? " as a failover slot" : "");
                return at;
            }
        }
        catch (SQLException e) {
            if (unprepared(e, name).isPresent()) {
                throw unprepared(e, name).get();
            }
            throw e;
        }
    }

    /**
     * A slot the server will not create as things are (object_not_in_prerequisite_state): e.g. a
     * standby whose primary does not run wal_level = logical, or no free slot. The server's own
     * message names the setting.
     */
    public static java.util.Optional<SetupException> unprepared(SQLException e, String name) {
        if (!"55000".equals(e.getSQLState())) {
            return java.util.Optional.empty();
        }
        String reason = String.valueOf(e.getMessage()).split("\n")[0];
        return java.util.Optional.of(new SetupException("the source cannot create replication slot " + name + ": " + reason
                + "; change that setting (on a standby, wal_level = logical is needed on its primary too, then restart the primary)"
                + " and run again", e));
    }

    /**
     * Makes an existing slot a failover slot when it should be one and is not (created by an older
     * version of this tool, or before the server was upgraded). The slot must not be in use.
     */
    public void upgrade(Connection replication, SourceServer server, String name, boolean isFailover) throws SQLException {
        if (isFailover || !failoverOn(server)) {
            return;
        }
        try (Statement st = replication.createStatement()) {
            st.execute("ALTER_REPLICATION_SLOT " + Identifiers.quote(name) + " (FAILOVER true)");
        }
        LOG.info("replication slot {} is a failover slot now (slot-failover: true)", name);
    }

    /**
     * On a standby the server waits for the primary's next record of running transactions before
     * the slot is consistent: the primary's background writer logs one every 15 s while it writes,
     * and none while it is idle.
     */
    private static void beforeCreating(SourceServer server, String name) {
        if (server.standby()) {
            if (!server.decodesOnStandby()) {
                throw new SetupException("the source is a standby running " + server.describe() + ", which cannot decode logically;"
                        + " standbys can from PostgreSQL 16 on: point source.host at the primary, or upgrade");
            }
            LOG.info("creating replication slot {} on a standby: it waits for the primary's next record of running transactions"
                    + " (logged every 15 s while the primary writes; on an idle primary, run SELECT pg_log_standby_snapshot() there)", name);
        }
    }
}
