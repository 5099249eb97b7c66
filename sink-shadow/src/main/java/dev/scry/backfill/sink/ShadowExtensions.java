package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.Identifiers;

/**
 * The source's extensions on the shadow: whether the shadow's server can install each
 * ({@code pg_available_extension_versions}), and {@code CREATE EXTENSION} in the source's schema,
 * at the source's version where the shadow's server offers it (its default version otherwise).
 */
final class ShadowExtensions {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowExtensions.class);

    // What the shadow has of an extension: its installed version, the version CREATE EXTENSION
    // would install (the source's if offered, else the default), and whether that version needs a
    // superuser the current user is not.
    private static final String STATE_SQL = """
            SELECT (SELECT extversion FROM pg_extension WHERE extname = $1),
                   v.version,
                   v.superuser AND NOT v.trusted AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                   current_setting('server_version_num')::int / 10000
            FROM (SELECT 1) one
            LEFT JOIN LATERAL (
              SELECT av.version, av.superuser, av.trusted FROM pg_available_extension_versions av
              JOIN pg_available_extensions a ON a.name = av.name
              WHERE av.name = $1 AND (av.version = $2 OR av.version = a.default_version)
              ORDER BY av.version = $2 DESC LIMIT 1) v ON true""".replace("$1", "?::name").replace("$2", "?::text");

    private record State(String installed, String installable, boolean needsSuperuser, int serverMajor) {
    }

    private ShadowExtensions() {
    }

    /** What stands in the way of each extension the shadow lacks; empty when all can be created. */
    static List<String> problems(Connection shadow, List<SourceTypes.Extension> extensions) throws SQLException {
        List<String> problems = new ArrayList<>();
        for (SourceTypes.Extension extension : extensions) {
            State state = state(shadow, extension);
            if (state.installed() != null) {
                continue;
            }
            if (state.installable() == null) {
                problems.add("extension " + extension.name() + " (version " + extension.version() + " on the source), which the"
                        + " configured tables' types come from, is not available on the shadow's server (PostgreSQL "
                        + state.serverMajor() + "); install it there (on Debian the package postgresql-" + state.serverMajor() + "-"
                        + extension.name() + ", or postgresql-contrib for PostgreSQL's own), then run again");
            }
            else if (state.needsSuperuser()) {
                problems.add("extension " + extension.name() + " " + state.installable() + " can only be created on the shadow by a"
                        + " superuser; run CREATE EXTENSION " + Identifiers.quote(extension.name()) + " WITH SCHEMA "
                        + Identifiers.quote(extension.schema()) + " on the shadow as one, then run again");
            }
        }
        return problems;
    }

    /** Creates the extension unless the shadow has it; {@link #problems} said it can. */
    static void ensure(Connection shadow, SourceTypes.Extension extension) throws SQLException {
        State state = state(shadow, extension);
        if (state.installed() != null) {
            if (!state.installed().equals(extension.version())) {
                LOG.warn("extension {} is at version {} on the shadow and {} on the source; left as it is", extension.name(),
                        state.installed(), extension.version());
            }
            return;
        }
        List<String> statements = new ArrayList<>();
        if (!extension.schema().equals("pg_catalog")) {
            statements.add("CREATE SCHEMA IF NOT EXISTS " + Identifiers.quote(extension.schema()));
        }
        // CASCADE: the shadow's version may require an extension the source's did not.
        statements.add("CREATE EXTENSION IF NOT EXISTS " + Identifiers.quote(extension.name()) + " WITH SCHEMA "
                + Identifiers.quote(extension.schema()) + " VERSION " + Identifiers.literal(state.installable()) + " CASCADE");
        try {
            ShadowTypes.inTransaction(shadow, statements);
        }
        catch (SQLException e) {
            throw new SetupException("cannot create extension " + extension.name() + " " + state.installable() + " on the shadow: "
                    + SqlErrors.describe(e) + "; create it there by hand, then run again", e);
        }
        if (state.installable().equals(extension.version())) {
            LOG.info("created extension {} {} on the shadow", extension.name(), extension.version());
        }
        else {
            LOG.warn("created extension {} on the shadow at version {}: its server does not offer the source's version {}",
                    extension.name(), state.installable(), extension.version());
        }
    }

    private static State state(Connection shadow, SourceTypes.Extension extension) throws SQLException {
        try (PreparedStatement ps = shadow.prepareStatement(STATE_SQL)) {
            ps.setString(1, extension.name());
            ps.setString(2, extension.name());
            ps.setString(3, extension.version());
            ps.setString(4, extension.version());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new State(rs.getString(1), rs.getString(2), rs.getBoolean(3), rs.getInt(4));
            }
        }
    }
}
