package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.ConnectionSettings;

/**
 * Opens the plain JDBC connections the commands use for checks and administration, turning the
 * ways a login fails into messages that say which side, which key and what to do.
 */
public final class Connect {

    private Connect() {
    }

    /** @param side "source" or "shadow": the configuration section the settings came from */
    public static Connection open(ConnectionSettings settings, String side) {
        return open(settings, side, "scry-backfill " + side);
    }

    /** A replication connection to the source, for the replication commands (ALTER_REPLICATION_SLOT, ...). */
    static Connection openReplication(ConnectionSettings source) {
        return open(source, "source", source.replicationProperties("scry-backfill source"));
    }

    /** The same, naming the session {@code applicationName} in pg_stat_activity. */
    public static Connection open(ConnectionSettings settings, String side, String applicationName) {
        return open(settings, side, settings.jdbcProperties(applicationName));
    }

    private static Connection open(ConnectionSettings settings, String side, java.util.Properties properties) {
        try {
            return DriverManager.getConnection(settings.jdbcUrl(), properties);
        }
        catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : e.getSQLState();
            String where = side + " " + settings.describe();
            if (state.equals("28P01") || state.equals("28000")) {
                throw new SetupException("cannot log in to " + where + ": " + SqlErrors.describe(e)
                        + "; check " + side + ".user and " + side + ".password", e);
            }
            if (state.equals("3D000")) {
                throw new SetupException("database " + settings.database() + " does not exist on " + side + " "
                        + settings.host() + ":" + settings.port() + "; check " + side + ".database", e);
            }
            java.util.Optional<String> unresolved = SqlErrors.unresolvedHost(e);
            if (unresolved.isPresent()) {
                throw new PipelineFailure("cannot connect to " + where + ": the host name " + unresolved.get()
                        + " does not resolve (no DNS or /etc/hosts entry); check " + side + ".host", e);
            }
            throw new PipelineFailure("cannot connect to " + where + ": " + rootMessage(e)
                    + "; check " + side + ".host and " + side + ".port and that the server is running", e);
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        int newline = m.indexOf('\n');
        return newline >= 0 ? m.substring(0, newline) : m;
    }
}
