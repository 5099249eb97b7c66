package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ConnectionSettings;

/**
 * The pipeline's shadow sessions run with {@code session_replication_role = replica}, as a native
 * subscriber's apply does: ordinary triggers and foreign keys (whose checks are triggers) do not
 * act on the rows it writes, since the source already ran them and their effects arrive as
 * changes of their own. ALWAYS and REPLICA triggers still fire, as on a subscriber.
 *
 * <p>Setting it needs a superuser or, from PostgreSQL 15, {@code GRANT SET ON PARAMETER
 * session_replication_role}. Without that right the pipeline still runs where the shadow has no
 * trigger and no foreign key to keep quiet.
 */
public final class ReplicaRole {

    /** libpq's {@code options} for a session that starts in the replica role. */
    public static final String OPTIONS = "-c session_replication_role=replica";

    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private ReplicaRole() {
    }

    /**
     * The shadow's connection settings for the pipeline's sessions: in the replica role when the
     * shadow's user may set it; refused (exit 2) when it may not and {@code needed} (the shadow
     * will have triggers or foreign keys).
     */
    public static ConnectionSettings apply(ConnectionSettings shadow, Connection c, boolean needed) throws SQLException {
        if (canSet(c)) {
            return shadow.withOptions(OPTIONS);
        }
        if (needed) {
            throw new SetupException("the shadow will have triggers or foreign keys, which must not act while the pipeline applies"
                    + " rows, but shadow user " + shadow.user() + " cannot set session_replication_role; run GRANT SET ON PARAMETER"
                    + " session_replication_role TO " + dev.scry.backfill.model.Identifiers.quote(shadow.user())
                    + " on the shadow (PostgreSQL 15 and later) or connect as a superuser, then run again");
        }
        return shadow;
    }

    private static boolean canSet(Connection c) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL session_replication_role = replica");
            return true;
        }
        catch (SQLException e) {
            if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                return false;
            }
            throw e;
        }
        finally {
            c.rollback();
            c.setAutoCommit(auto);
        }
    }
}
