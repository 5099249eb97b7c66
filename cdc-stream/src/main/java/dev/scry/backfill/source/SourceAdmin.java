package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;

/**
 * Every statement the pipeline runs on the source outside the replication stream: the
 * publication, the slot, the current WAL position and the caught-up marker. Nothing here writes
 * table data; the only WAL it adds is the marker's one small record.
 */
public final class SourceAdmin {

    /** Prefix of the logical-decoding messages this tool emits; other consumers can ignore it. */
    public static final String MARKER_PREFIX = "scry-backfill";

    private static final Logger LOG = LoggerFactory.getLogger(SourceAdmin.class);

    /**
     * The source's current WAL position as SQL: where a primary is inserting WAL (not the write
     * position, which with asynchronous commit can trail committed transactions by the WAL
     * writer's delay), or how far a standby has replayed (it writes no WAL of its own, and
     * {@code pg_current_wal_*} are refused during recovery).
     */
    private static final String CURRENT_WAL_LSN = "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
            + " ELSE pg_current_wal_insert_lsn() END";

    private final Connection connection;
    private SourceServer server;

    public SourceAdmin(Connection connection) {
        this.connection = connection;
    }

    /** The server this reads and writes, read once. */
    public SourceServer server() throws SQLException {
        if (server == null) {
            server = SourceServer.of(connection);
        }
        return server;
    }

    /** Where the source stands in its WAL now (see {@link #CURRENT_WAL_LSN}). */
    public Lsn currentWalLsn() throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("SELECT (" + CURRENT_WAL_LSN + ")::text")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    /**
     * How many bytes of WAL the slot holds that the pipeline has not confirmed: from its confirmed
     * position to where the source stands now. Empty when the slot does not exist.
     */
    public java.util.OptionalLong slotLagBytes(String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT " + CURRENT_WAL_LSN + " - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? java.util.OptionalLong.of(Math.max(0, rs.getLong(1))) : java.util.OptionalLong.empty();
            }
        }
    }

    public Optional<SlotInfo> slot(String name) throws SQLException {
        boolean failoverColumns = server().major() >= 17;
        String sql = "SELECT slot_name, plugin, database, active, coalesce(active_pid, 0), confirmed_flush_lsn::text, restart_lsn::text, "
                + (failoverColumns ? "failover, synced" : "false, false") + ", "
                // wal_status 'lost': the WAL the slot needs is gone (max_slot_wal_keep_size).
                + "coalesce(" + server().slotInvalidationColumn() + ", CASE WHEN wal_status = 'lost' THEN 'wal_removed' END)"
                + " FROM pg_replication_slots WHERE slot_name = ?";
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new SlotInfo(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4), rs.getInt(5),
                        rs.getString(6) == null ? null : Lsn.parse(rs.getString(6)),
                        rs.getString(7) == null ? null : Lsn.parse(rs.getString(7)), rs.getBoolean(8), rs.getBoolean(9),
                        rs.getString(10)));
            }
        }
    }

    /**
     * What decoding the slot has cost the source since its statistics were reset
     * ({@code pg_stat_replication_slots}, PostgreSQL 14): transactions and bytes decoded, and those
     * larger than {@code logical_decoding_work_mem} that the server spilled to disk while decoding.
     */
    public record DecodingStats(long transactions, long bytes, long spilledTransactions, long spilledBytes) {
    }

    public Optional<DecodingStats> decodingStats(String slot) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT total_txns, total_bytes, spill_txns, spill_bytes FROM pg_stat_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new DecodingStats(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)))
                        : Optional.empty();
            }
        }
    }

    /**
     * The slot, after checking that no process is reading it: a second run of the same pipeline
     * must not start while the first still streams.
     */
    public Optional<SlotInfo> idleSlot(String name, String pipeline) throws SQLException {
        Optional<SlotInfo> slot = slot(name);
        if (slot.isPresent() && slot.get().active()) {
            throw new SetupException("replication slot " + name + " is in use by process " + slot.get().activePid()
                    + " on the source; another run of pipeline " + pipeline + " is probably active, stop it first");
        }
        return slot;
    }

    /** Drops the slot; refuses while a walsender is using it. Returns whether there was one. */
    public boolean dropSlot(String name) throws SQLException {
        Optional<SlotInfo> slot = slot(name);
        if (slot.isEmpty()) {
            return false;
        }
        if (slot.get().active()) {
            throw new SetupException("replication slot " + name + " is in use by process " + slot.get().activePid()
                    + " on the source; stop the pipeline that reads it first");
        }
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
            ps.setString(1, name);
            ps.execute();
        }
        return true;
    }

    public boolean publicationExists(String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Tables the publication publishes (for FOR ALL TABLES publications, every table). */
    public Set<TableId> publishedTables(String name) throws SQLException {
        Set<TableId> tables = new LinkedHashSet<>();
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return tables;
    }

    /**
     * Creates the publication for the tables, or adds the tables it lacks. Tables it has beyond
     * ours are left alone: the stream filters them out. Changes to partitions are published as
     * changes to their partitioned table ({@code publish_via_partition_root}), which is the table
     * the shadow holds.
     */
    public void ensurePublication(String name, Collection<TableId> tables) throws SQLException {
        ensurePublication(name, tables, java.util.Map.of());
    }

    /**
     * The same, publishing only the listed columns of the tables in {@code columnLists} (PostgreSQL
     * 15 column lists) when the publication is created or the table added to it. A table already
     * published keeps the columns it is published with.
     */
    public void ensurePublication(String name, Collection<TableId> tables, java.util.Map<TableId, List<String>> columnLists)
            throws SQLException {
        java.util.function.Function<TableId, String> entry = t -> t.quoted() + (columnLists.containsKey(t)
                ? " (" + columnLists.get(t).stream().map(Identifiers::quote).collect(Collectors.joining(", ")) + ")" : "");
        String list = tables.stream().map(entry).collect(Collectors.joining(", "));
        if (!publicationExists(name)) {
            try (Statement st = connection.createStatement()) {
                st.execute("CREATE PUBLICATION " + Identifiers.quote(name) + " FOR TABLE " + list
                        + " WITH (publish_via_partition_root = true)");
            }
            LOG.info("created publication {} for {} table(s)", name, tables.size());
            return;
        }
        try (PreparedStatement ps = connection.prepareStatement("SELECT pubviaroot FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !rs.getBoolean(1)) {
                    try (Statement st = connection.createStatement()) {
                        st.execute("ALTER PUBLICATION " + Identifiers.quote(name) + " SET (publish_via_partition_root = true)");
                    }
                }
            }
        }
        Set<TableId> published = publishedTables(name);
        List<TableId> missing = new ArrayList<>();
        for (TableId t : tables) {
            if (!published.contains(t)) {
                missing.add(t);
            }
        }
        if (!missing.isEmpty()) {
            try (Statement st = connection.createStatement()) {
                st.execute("ALTER PUBLICATION " + Identifiers.quote(name) + " ADD TABLE "
                        + missing.stream().map(entry).collect(Collectors.joining(", ")));
            }
            LOG.info("added {} to publication {}", missing, name);
        }
    }

    /**
     * Takes a table out of the publication; the slot sends none of its changes committed after
     * this. Returns whether it was published.
     */
    public boolean removeFromPublication(String name, TableId table) throws SQLException {
        if (!publicationExists(name) || !publishedTables(name).contains(table)) {
            return false;
        }
        try (Statement st = connection.createStatement()) {
            st.execute("ALTER PUBLICATION " + Identifiers.quote(name) + " DROP TABLE " + table.quoted());
        }
        LOG.info("removed {} from publication {}", table, name);
        return true;
    }

    public boolean dropPublication(String name) throws SQLException {
        boolean existed = publicationExists(name);
        try (Statement st = connection.createStatement()) {
            st.execute("DROP PUBLICATION IF EXISTS " + Identifiers.quote(name));
        }
        return existed;
    }

    /**
     * A point in the source's WAL that the stream shows it has passed: on a primary a marker
     * message ({@link #emitMarker}); on a standby, which can write nothing, the position it has
     * replayed, passed once the stream's position reaches it. Either way every transaction
     * committed on the source before this call lies before the mark.
     */
    public SourceMark mark(String content) throws SQLException {
        if (server().standby()) {
            return new SourceMark(null, currentWalLsn());
        }
        return new SourceMark(content, emitMarker(content));
    }

    /**
     * Commits a transaction holding only a logical-decoding message. The slot delivers it after
     * every transaction that committed before it, so seeing it come out of the stream proves that
     * all of those have been received. It is transactional on purpose: after a restart Debezium
     * first searches the stream for the next COMMIT beyond its stored position and delivers nothing
     * until it finds one, so a marker with no COMMIT of its own could wait forever on an idle source.
     */
    public Lsn emitMarker(String content) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?)::text")) {
            ps.setString(1, MARKER_PREFIX);
            ps.setString(2, content);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return Lsn.parse(rs.getString(1));
            }
        }
    }
}
