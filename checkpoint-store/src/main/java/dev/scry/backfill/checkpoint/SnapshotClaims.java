package dev.scry.backfill.checkpoint;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;

/**
 * Who copies which part of a copy snapshot, on the shadow beside the journal
 * ({@link SnapshotJournal}, whose tables hold the claims): the exported snapshot the running copy
 * publishes for snapshot workers to import, and the claims through which the coordinating
 * process and the workers share the parts. A claim is taken with {@code FOR UPDATE SKIP LOCKED},
 * carries a token, lasts a timeout renewed by heartbeat, and is checked again by the statement
 * that marks its part copied, in the transaction that holds the part's rows: a process whose
 * claim expired cannot commit late. The journal records who copied each part.
 */
public final class SnapshotClaims {

    private final String pipeline;

    public SnapshotClaims(String pipeline) {
        this.pipeline = pipeline;
    }

    /** The snapshot a running copy exports, as it publishes it for the snapshot workers. */
    public record Export(String snapshotName, Lsn at, String coordinator, int claimTimeoutMillis) {
    }

    /** A part this process may copy until {@code token}'s claim expires. */
    public record Claim(SnapshotJournal.Part part, String token, String previousHolder) {
    }

    /** The channel a NOTIFY goes to when parts or the export change, so that idle workers look again at once. */
    public static final String CHANNEL = "scry_backfill_snapshot";

    /** Publishes the exported snapshot the parts are copied under. In the caller's transaction. */
    public void publish(Connection c, Export export) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO scry_backfill.snapshot_export (pipeline, snapshot_name, at, coordinator, claim_timeout_ms)
                VALUES (?, ?, ?::pg_lsn, ?, ?)
                ON CONFLICT (pipeline) DO UPDATE SET snapshot_name = excluded.snapshot_name, at = excluded.at,
                  coordinator = excluded.coordinator, claim_timeout_ms = excluded.claim_timeout_ms, published_at = now()""")) {
            ps.setString(1, pipeline);
            ps.setString(2, export.snapshotName());
            ps.setString(3, export.at().toString());
            ps.setString(4, export.coordinator());
            ps.setInt(5, export.claimTimeoutMillis());
            ps.executeUpdate();
        }
        notifyWorkers(c);
    }

    /** Withdraws the exported snapshot: no new part is claimed under it. In the caller's transaction. */
    public void unpublish(Connection c) throws SQLException {
        if (!MetadataSchema.tableExists(c, "snapshot_export")) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM scry_backfill.snapshot_export WHERE pipeline = ?")) {
            ps.setString(1, pipeline);
            ps.executeUpdate();
        }
        notifyWorkers(c);
    }

    /** The exported snapshot parts are being copied under, if a copy runs (or its process died without withdrawing it). */
    public Optional<Export> export(Connection c) throws SQLException {
        if (!MetadataSchema.tableExists(c, "snapshot_export")) {
            return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT snapshot_name, at::text, coordinator, claim_timeout_ms FROM scry_backfill.snapshot_export WHERE pipeline = ?""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Export(rs.getString(1), Lsn.parse(rs.getString(2)), rs.getString(3), rs.getInt(4)))
                        : Optional.empty();
            }
        }
    }

    /**
     * Claims the first part nobody has copied or holds an unexpired claim on, for {@code holder},
     * until {@code timeoutMillis} from now; only while {@code snapshotName} is the published export
     * (a process still holding an older exported snapshot gets nothing: its rows would be at
     * another position than the parts around them). {@code SKIP LOCKED}: claimers never wait for
     * each other. Commits on its own (autocommit off: committed here).
     */
    public Optional<Claim> claim(Connection c, String snapshotName, String holder, int timeoutMillis) throws SQLException {
        String token = java.util.UUID.randomUUID().toString();
        try (PreparedStatement ps = c.prepareStatement("""
                WITH next AS (
                  SELECT p.part, p.claimed_by, p.claim_token FROM scry_backfill.snapshot_parts p
                  JOIN scry_backfill.snapshot_export e ON e.pipeline = p.pipeline AND e.snapshot_name = ?
                  WHERE p.pipeline = ? AND p.copied_at IS NULL AND (p.claim_expires IS NULL OR p.claim_expires < clock_timestamp())
                  ORDER BY p.part LIMIT 1
                  FOR UPDATE OF p SKIP LOCKED FOR SHARE OF e)
                UPDATE scry_backfill.snapshot_parts p
                SET claim_token = ?, claimed_by = ?, claim_expires = clock_timestamp() + ? * interval '1 millisecond'
                FROM next WHERE p.pipeline = ? AND p.part = next.part
                RETURNING p.part, p.schema_name, p.table_name, p.kind, p.range_from, p.range_to, p.columns,
                  CASE WHEN next.claim_token IS NULL THEN NULL ELSE next.claimed_by END""")) {
            ps.setString(1, snapshotName);
            ps.setString(2, pipeline);
            ps.setString(3, token);
            ps.setString(4, holder);
            ps.setInt(5, timeoutMillis);
            ps.setString(6, pipeline);
            Optional<Claim> claim = Optional.empty();
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    claim = Optional.of(new Claim(new SnapshotJournal.Part(rs.getInt(1), new TableId(rs.getString(2), rs.getString(3)),
                            SnapshotJournal.Kind.valueOf(rs.getString(4).toUpperCase(java.util.Locale.ROOT)), (Long) rs.getObject(5),
                            (Long) rs.getObject(6), rs.getString(7), null, 0), token, rs.getString(8)));
                }
            }
            c.commit();
            return claim;
        }
        catch (SQLException e) {
            c.rollback();
            throw e;
        }
    }

    /**
     * Extends the claims {@code tokens} that have not expired by {@code timeoutMillis} from now;
     * returns those extended. An expired claim is never renewed: another process may hold its part
     * already. Autocommit.
     */
    public java.util.Set<String> renew(Connection c, java.util.Collection<String> tokens, int timeoutMillis) throws SQLException {
        java.util.Set<String> held = new java.util.HashSet<>();
        if (tokens.isEmpty()) {
            return held;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE scry_backfill.snapshot_parts SET claim_expires = clock_timestamp() + ? * interval '1 millisecond'
                WHERE pipeline = ? AND claim_token = ANY (?) AND claim_expires > clock_timestamp() AND copied_at IS NULL
                RETURNING claim_token""")) {
            ps.setInt(1, timeoutMillis);
            ps.setString(2, pipeline);
            ps.setArray(3, c.createArrayOf("text", tokens.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    held.add(rs.getString(1));
                }
            }
        }
        return held;
    }

    /**
     * Marks a claimed part's rows committed at {@code at}, in the caller's transaction (the one
     * holding the rows): only while {@code token} still holds an unexpired claim on it. False
     * otherwise: the caller must roll its rows back, another process has the part.
     * {@code clock_timestamp()}, not {@code now()}: the transaction began with the copy, long ago.
     */
    public boolean copiedUnderClaim(Connection c, int part, String token, Lsn at, long rows) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE scry_backfill.snapshot_parts
                SET copied_at = ?::pg_lsn, rows = ?, copied_by = claimed_by, claim_expires = NULL
                WHERE pipeline = ? AND part = ? AND claim_token = ? AND claim_expires > clock_timestamp() AND copied_at IS NULL""")) {
            ps.setString(1, at.toString());
            ps.setLong(2, rows);
            ps.setString(3, pipeline);
            ps.setInt(4, part);
            ps.setString(5, token);
            if (ps.executeUpdate() != 1) {
                return false;
            }
        }
        notifyWorkers(c);
        return true;
    }

    /** Gives a claim up (its copy stopped) so that another process takes the part at once. Autocommit or the caller's transaction. */
    public void release(Connection c, String token) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE scry_backfill.snapshot_parts SET claim_token = NULL, claimed_by = NULL, claim_expires = NULL
                WHERE pipeline = ? AND claim_token = ? AND copied_at IS NULL""")) {
            ps.setString(1, pipeline);
            ps.setString(2, token);
            ps.executeUpdate();
        }
        notifyWorkers(c);
    }

    /** Who holds the part's claim now (null if nobody) and who copied it (null until copied). */
    public record Holders(String claimedBy, String copiedBy) {
    }

    public Holders holders(Connection c, int part) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT CASE WHEN claim_expires > clock_timestamp() THEN claimed_by END, copied_by
                FROM scry_backfill.snapshot_parts WHERE pipeline = ? AND part = ?""")) {
            ps.setString(1, pipeline);
            ps.setInt(2, part);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Holders(rs.getString(1), rs.getString(2)) : new Holders(null, null);
            }
        }
    }

    /** Parts not copied yet (claimed or not). */
    public int uncopiedParts(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM scry_backfill.snapshot_parts WHERE pipeline = ? AND copied_at IS NULL")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** Tables every part of which is copied. */
    public java.util.Set<TableId> loadedTables(Connection c) throws SQLException {
        java.util.Set<TableId> out = new java.util.HashSet<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT schema_name, table_name FROM scry_backfill.snapshot_parts WHERE pipeline = ?
                GROUP BY schema_name, table_name HAVING bool_and(copied_at IS NOT NULL)""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new TableId(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /** Parts copied per process ({@code copied_by}), for the log and status. */
    public java.util.Map<String, Integer> partsBy(Connection c) throws SQLException {
        java.util.Map<String, Integer> out = new java.util.TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT coalesce(copied_by, '(unrecorded)'), count(*) FROM scry_backfill.snapshot_parts
                WHERE pipeline = ? AND copied_at IS NOT NULL GROUP BY 1""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), rs.getInt(2));
                }
            }
        }
        return out;
    }

    /** Rows committed per table, over every part copied (by any process). */
    public java.util.Map<TableId, Long> rowsPerTable(Connection c) throws SQLException {
        java.util.Map<TableId, Long> out = new java.util.LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT schema_name, table_name, sum(rows) FROM scry_backfill.snapshot_parts
                WHERE pipeline = ? AND copied_at IS NOT NULL GROUP BY 1, 2""")) {
            ps.setString(1, pipeline);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(new TableId(rs.getString(1), rs.getString(2)), rs.getLong(3));
                }
            }
        }
        return out;
    }

    /** What one process copied: its parts and their rows. */
    public record Tally(int parts, long rows) {
    }

    public Tally copiedBy(Connection c, String holder) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT count(*), coalesce(sum(rows), 0) FROM scry_backfill.snapshot_parts
                WHERE pipeline = ? AND copied_by = ? AND copied_at IS NOT NULL""")) {
            ps.setString(1, pipeline);
            ps.setString(2, holder);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Tally(rs.getInt(1), rs.getLong(2));
            }
        }
    }

    private void notifyWorkers(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            ps.setString(1, CHANNEL);
            ps.setString(2, pipeline);
            ps.execute();
        }
    }
}
