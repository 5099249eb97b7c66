package dev.scry.backfill.source;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * What the source server is (its version, whether it is a standby) and therefore which of the
 * newer replication features the pipeline may use on it. Read once per connection.
 *
 * @param versionNum {@code server_version_num}, e.g. 170006
 * @param version    {@code server_version}, for messages
 * @param standby    whether the server is in recovery: a physical standby
 */
public record SourceServer(int versionNum, String version, boolean standby) {

    public static SourceServer of(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int, current_setting('server_version'),"
                     + " pg_is_in_recovery()")) {
            rs.next();
            return new SourceServer(rs.getInt(1), rs.getString(2), rs.getBoolean(3));
        }
    }

    public int major() {
        return versionNum / 10000;
    }

    /** Logical decoding on a physical standby: PostgreSQL 16. */
    public boolean decodesOnStandby() {
        return major() >= 16;
    }

    /**
     * Slots a standby can keep a synchronized copy of (the slot's {@code failover} property,
     * PostgreSQL 17). Only a primary creates them: a standby refuses to.
     */
    public boolean failoverSlots() {
        return major() >= 17 && !standby;
    }

    /** {@code pg_replication_slots.invalidation_reason} (17) or {@code conflicting} (16), else none. */
    String slotInvalidationColumn() {
        return major() >= 17 ? "invalidation_reason" : major() >= 16 ? "CASE WHEN conflicting THEN 'conflicting with recovery' END" : "NULL::text";
    }

    /** {@code PostgreSQL 17.6 (standby)}, for messages. */
    public String describe() {
        // server_version may carry the packager's suffix: "15.18 (Debian 15.18-0+deb12u1)".
        return "PostgreSQL " + version.split(" ")[0] + (standby ? " (standby)" : "");
    }
}
