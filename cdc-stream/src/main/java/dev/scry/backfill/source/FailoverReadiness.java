package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

import dev.scry.backfill.model.TableId;

/**
 * What a failover of the source would cost the pipeline, said at start (a log line) and by
 * {@code status}: nothing, when the slot is a failover slot that the primary keeps synchronized
 * to its standbys (PostgreSQL 17: {@code failover} slots, {@code sync_replication_slots} on the
 * standby, {@code synchronized_standby_slots} on the primary); otherwise a new snapshot, because a
 * promoted standby has no copy of the slot.
 *
 * @param ready   whether the pipeline continues from its checkpoint after a failover to a standby
 * @param summary one line: why, and what a failover would cost
 */
public record FailoverReadiness(boolean ready, String summary) {

    /**
     * @param slot      the slot as it is now, or empty when it is still to be created (as {@code creation} says)
     * @param listed    whether the configuration lists the standbys (source.hosts), so the pipeline finds the new primary
     */
    public static FailoverReadiness assess(Connection source, Optional<SlotInfo> slot, SlotCreation creation,
                                           Collection<TableId> tables, boolean listed) throws SQLException {
        SourceServer server = SourceServer.of(source);
        String cost = "a failover would cost a new snapshot: the slot is not on the promoted server, so `teardown"
                + " --drop-metadata`, empty the shadow tables and copy again " + tables.size() + " table(s) (" + size(source, tables)
                + " on the source now)";
        if (server.standby()) {
            return new FailoverReadiness(false, "the slot lives on this standby (" + server.describe() + "): it stays with the"
                    + " standby if that is promoted; if the standby is lost, " + cost);
        }
        if (server.major() < 17) {
            return new FailoverReadiness(false, "not failover-ready: " + server.describe() + " has no failover slots (PostgreSQL 17);"
                    + " " + cost);
        }
        boolean failover = slot.map(SlotInfo::failover).orElse(creation.failoverOn(server));
        if (!failover) {
            return new FailoverReadiness(false, "not failover-ready: the slot is not a failover slot (slot-failover: false); " + cost);
        }
        List<String> standbySlots = standbySlots(source);
        if (standbySlots.isEmpty()) {
            return new FailoverReadiness(false, "not failover-ready: the slot is a failover slot, but synchronized_standby_slots is"
                    + " empty on the primary, so a standby's copy may trail what the shadow has and no standby is known to keep one"
                    + " (set sync_replication_slots = on on a standby, and its physical slot in synchronized_standby_slots here); "
                    + cost);
        }
        List<String> idle = idle(source, standbySlots);
        String hosts = listed ? "" : "; list the standbys with the primary in source.hosts so that the pipeline finds the new primary";
        if (!idle.isEmpty()) {
            return new FailoverReadiness(true, "failover-ready, but standby slot(s) " + String.join(", ", idle) + " are not streaming:"
                    + " the primary holds logical changes back until they have them, so the pipeline waits" + hosts);
        }
        return new FailoverReadiness(true, "failover-ready: the slot is a failover slot and the primary sends changes only once standby"
                + " slot(s) " + String.join(", ", standbySlots) + " have them; after a failover to one of those standbys the pipeline"
                + " continues from its checkpoint" + hosts);
    }

    private static List<String> standbySlots(Connection c) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT current_setting('synchronized_standby_slots')"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            for (String name : rs.getString(1).split(",")) {
                if (!name.isBlank()) {
                    out.add(name.strip().replace("\"", ""));
                }
            }
        }
        return out;
    }

    private static List<String> idle(Connection c, List<String> slots) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = ?), false)")) {
            for (String name : slots) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        out.add(name);
                    }
                }
            }
        }
        return out;
    }

    /** The tables' size on disk (partitions included), as PostgreSQL prints sizes. */
    private static String size(Connection c, Collection<TableId> tables) throws SQLException {
        String sql = "SELECT pg_size_pretty(coalesce(sum(pg_table_size(p.relid)), 0)) FROM unnest(?::text[]) AS t(name),"
                + " pg_partition_tree(to_regclass(t.name)) AS p WHERE p.isleaf";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableId::quoted).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
