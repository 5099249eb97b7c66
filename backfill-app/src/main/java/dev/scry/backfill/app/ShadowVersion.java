package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import dev.scry.backfill.error.SetupException;

/**
 * The shadow runs the source's major version of PostgreSQL or a newer one: trying an upgrade on
 * realistic data is a reason to keep a shadow, while an older server may lack types, functions
 * and catalog definitions the source's schema uses.
 */
final class ShadowVersion {

    private ShadowVersion() {
    }

    static void check(Connection source, Connection shadow, String shadowWhere) throws SQLException {
        int sourceVersion = versionNum(source);
        int shadowVersion = versionNum(shadow);
        if (shadowVersion / 10000 < sourceVersion / 10000) {
            throw new SetupException("the shadow " + shadowWhere + " runs PostgreSQL " + version(shadow) + ", older than the source's "
                    + version(source) + "; a shadow must run the source's major version (" + sourceVersion / 10000 + ") or a newer one:"
                    + " point shadow.host at such a server, or upgrade the shadow");
        }
    }

    private static int versionNum(Connection c) throws SQLException {
        return Integer.parseInt(setting(c, "server_version_num"));
    }

    private static String version(Connection c) throws SQLException {
        return setting(c, "server_version").split(" ")[0];
    }

    private static String setting(Connection c, String name) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('" + name + "')")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
