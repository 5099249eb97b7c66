package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Lsn;

/**
 * The WAL timeline a server is on, asked over the replication connection. A promoted standby
 * starts a new timeline at the point where it stopped replaying its old primary; WAL the old
 * primary wrote after that point is on no timeline the new primary knows. A checkpoint beyond it
 * means the shadow holds changes the new primary never received: continuing there would skip
 * the new primary's own transactions up to the checkpoint's LSN, silently.
 */
final class ServerTimeline {

    private ServerTimeline() {
    }

    /** The timeline the server is on now ({@code IDENTIFY_SYSTEM}). */
    static int current(Connection replication) throws SQLException {
        try (Statement st = replication.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            return rs.getInt("timeline");
        }
    }

    /**
     * Refuses to continue from {@code checkpoint}, written while streaming on timeline
     * {@code written}, on a server now on timeline {@code now} when that position is not on the
     * server's history.
     */
    static void checkReachable(Connection replication, int written, int now, Lsn checkpoint, String where) throws SQLException {
        if (written == 0 || written == now) {
            return;
        }
        Lsn end = written < now ? endOf(replication, now, written) : null;
        if (end == null) {
            throw new SetupException("the checkpoint LSN " + checkpoint + " was written while streaming on timeline " + written
                    + ", which is not in the history of the source " + where + " (timeline " + now + "): this server did not"
                    + " descend from the one the shadow was fed from (an old primary started again after a failover?). Point"
                    + " source.host(s) at the current primary; if there is no other, start over with `teardown --drop-metadata`,"
                    + " empty the shadow tables and run `snapshot`");
        }
        if (checkpoint.isAfter(end)) {
            throw new SetupException("the source " + where + " was promoted from a standby that stopped following its old primary at "
                    + end + " (timeline " + written + " -> " + now + "), but the shadow's checkpoint LSN " + checkpoint
                    + " is beyond that point: the shadow holds changes the old primary committed and the new primary never received,"
                    + " so continuing would skip the new primary's own changes up to " + checkpoint + ". Nothing was applied. The"
                    + " shadow must start over (`teardown --drop-metadata`, empty the shadow tables, `snapshot`); to prevent this,"
                    + " list the standbys' physical slots in synchronized_standby_slots on the primary (PostgreSQL 17)");
        }
    }

    /**
     * Where timeline {@code ended} ended in the history of timeline {@code now} (the history
     * file: one line per earlier timeline, "id, switch point, reason"), or null if it is not there.
     */
    private static Lsn endOf(Connection replication, int now, int ended) throws SQLException {
        String history;
        try (Statement st = replication.createStatement(); ResultSet rs = st.executeQuery("TIMELINE_HISTORY " + now)) {
            rs.next();
            // The walsender sends the file's bytes as they are (typed bytea, in text format).
            history = rs.getString("content");
        }
        for (String line : history.split("\n")) {
            String[] fields = line.strip().split("\\s+");
            if (fields.length >= 2 && !fields[0].startsWith("#") && fields[0].equals(Integer.toString(ended))) {
                return Lsn.parse(fields[1]);
            }
        }
        return null;
    }
}
