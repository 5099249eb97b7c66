package dev.scry.backfill.model;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Properties;

/**
 * Where one PostgreSQL database is and how to log in to it. The password never appears in
 * {@link #toString()} or in the JDBC URL; it travels only in {@link #jdbcProperties()}.
 */
public record ConnectionSettings(String host, int port, String database, String user, String password) {

    /** Bounded so that an unreachable host fails in seconds, not after the OS's TCP timeout. */
    public static final int CONNECT_TIMEOUT_SECONDS = 10;

    public ConnectionSettings {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        password = password == null ? "" : password;
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be between 1 and 65535, got " + port);
        }
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://" + hostForUrl() + ":" + port + "/" + URLEncoder.encode(database, StandardCharsets.UTF_8);
    }

    private String hostForUrl() {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** Properties for {@code DriverManager.getConnection(jdbcUrl(), jdbcProperties())}. */
    public Properties jdbcProperties(String applicationName) {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("ApplicationName", applicationName);
        p.setProperty("connectTimeout", Integer.toString(CONNECT_TIMEOUT_SECONDS));
        p.setProperty("loginTimeout", Integer.toString(CONNECT_TIMEOUT_SECONDS));
        p.setProperty("tcpKeepAlive", "true");
        return p;
    }

    /** {@code user@host:port/database}, safe to log. */
    public String describe() {
        return user + "@" + hostForUrl() + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        return "ConnectionSettings[" + describe() + ", password=" + (password.isEmpty() ? "<none>" : "<hidden>") + "]";
    }
}
