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

    private final Connection connection;

    public SourceAdmin(Connection connection) {
        this.connection = connection;
    }

    /**
     * Where the source is inserting WAL now. The insert position, not the write position: with
     * asynchronous commit the latter can trail committed transactions by the WAL writer's delay.
     */
    public Lsn currentWalLsn() throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_current_wal_insert_lsn()::text")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    public Optional<SlotInfo> slot(String name) throws SQLException {
        String sql = """
                SELECT slot_name, plugin, database, active, coalesce(active_pid, 0),
                       confirmed_flush_lsn::text, restart_lsn::text
                FROM pg_replication_slots WHERE slot_name = ?""";
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new SlotInfo(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4), rs.getInt(5),
                        rs.getString(6) == null ? null : Lsn.parse(rs.getString(6)),
                        rs.getString(7) == null ? null : Lsn.parse(rs.getString(7))));
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
