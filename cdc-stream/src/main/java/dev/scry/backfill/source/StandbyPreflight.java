package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * What reading from a physical standby needs, checked before anything is written: the slot, the
 * snapshot and the stream run on the standby, so the primary carries none of their load, but a
 * standby writes nothing, so what must be written is the primary's to do, and named here:
 * the publication (created on the primary, it reaches the standby as WAL), and
 * {@code hot_standby_feedback} (without it the primary may vacuum away catalog rows the slot
 * still needs, and the standby then invalidates the slot). {@code wal_level = logical} is needed
 * on both; the primary's is known only when the slot is created (see {@link SlotCreation}).
 */
public final class StandbyPreflight {

    private static final Logger LOG = LoggerFactory.getLogger(StandbyPreflight.class);

    private StandbyPreflight() {
    }

    /** Every problem, each with its fix; empty when the source is a primary or a ready standby. */
    public static List<String> problems(Connection c, String where, String publication, Collection<TableId> tables,
                                        boolean debeziumReader) throws SQLException {
        SourceServer server = SourceServer.of(c);
        List<String> problems = new ArrayList<>();
        if (!server.standby()) {
            return problems;
        }
        if (!server.decodesOnStandby()) {
            problems.add("the source " + where + " is a standby running " + server.describe() + ", which cannot decode logically;"
                    + " standbys can from PostgreSQL 16 on: point source.host at the primary, or upgrade");
            return problems;
        }
        if (debeziumReader) {
            problems.add("the Debezium engine (stream.reader or snapshot.method: debezium) cannot read from the standby " + where
                    + " (it writes its heartbeats to the source); use stream.reader: pgoutput and snapshot.method: copy, or point"
                    + " source.host at the primary");
        }
        if (!"on".equals(setting(c, "hot_standby_feedback"))) {
            problems.add("hot_standby_feedback is off on the standby " + where + "; set hot_standby_feedback = on there (and reload),"
                    + " or the primary may remove catalog rows the slot needs and the standby invalidates the slot");
        }
        publicationProblem(c, publication, tables).ifPresent(problems::add);
        if (problems.isEmpty() && setting(c, "primary_slot_name").isEmpty()) {
            LOG.warn("the standby {} streams from its primary without a physical slot (primary_slot_name is empty): while it is"
                    + " disconnected, hot_standby_feedback does not hold back the primary's vacuum, and the logical slot here can be"
                    + " invalidated; give the standby a slot on the primary", where);
        }
        return problems;
    }

    /** The publication must come from the primary, with every table, publishing partitions through their root. */
    private static java.util.Optional<String> publicationProblem(Connection c, String publication, Collection<TableId> tables)
            throws SQLException {
        String quoted = Identifiers.quote(publication);
        String list = tables.stream().map(TableId::quoted).collect(Collectors.joining(", "));
        Boolean viaRoot = null;
        try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT pubviaroot FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    viaRoot = rs.getBoolean(1);
                }
            }
        }
        if (viaRoot == null) {
            return java.util.Optional.of("publication " + publication + " does not exist on the standby, which cannot create it; on"
                    + " the primary run: CREATE PUBLICATION " + quoted + " FOR TABLE " + list + " WITH (publish_via_partition_root = true)");
        }
        Set<TableId> published = new SourceAdmin(c).publishedTables(publication);
        List<TableId> missing = tables.stream().filter(t -> !published.contains(t)).toList();
        List<String> fixes = new ArrayList<>();
        if (!missing.isEmpty()) {
            fixes.add("ALTER PUBLICATION " + quoted + " ADD TABLE " + missing.stream().map(TableId::quoted).collect(Collectors.joining(", ")));
        }
        if (!viaRoot) {
            fixes.add("ALTER PUBLICATION " + quoted + " SET (publish_via_partition_root = true)");
        }
        return fixes.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of("publication " + publication + " on the standby"
                + (missing.isEmpty() ? "" : " lacks " + missing.stream().map(TableId::toString).collect(Collectors.joining(", ")))
                + (missing.isEmpty() || viaRoot ? "" : " and") + (viaRoot ? "" : " publishes partitions as themselves")
                + "; on the primary run: " + String.join("; ", fixes));
    }

    private static String setting(Connection c, String name) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('" + name + "')")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
