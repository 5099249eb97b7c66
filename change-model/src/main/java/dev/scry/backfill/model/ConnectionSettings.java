package dev.scry.backfill.model;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Properties;

/**
 * Where one PostgreSQL database is and how to log in to it. The password never appears in
 * {@link #toString()} or in the JDBC URL; it travels only in {@link #jdbcProperties()}.
 *
 * @param sslMode     libpq's sslmode ({@code disable} ... {@code verify-full}); pgjdbc's default {@code prefer}
 * @param sslRootCert the CA certificate file that verify-ca / verify-full check the server against, or null
 * @param options     settings every session starts with, as libpq's {@code options} writes them
 *                    ({@code -c session_replication_role=replica}), or null
 */
public record ConnectionSettings(String host, int port, String database, String user, String password, String sslMode,
                                 String sslRootCert, String options) {

    public static final java.util.Set<String> SSL_MODES = java.util.Set.of("disable", "allow", "prefer", "require", "verify-ca",
            "verify-full");

    public ConnectionSettings(String host, int port, String database, String user, String password) {
        this(host, port, database, user, password, "prefer", null, null);
    }

    public ConnectionSettings(String host, int port, String database, String user, String password, String sslMode, String sslRootCert) {
        this(host, port, database, user, password, sslMode, sslRootCert, null);
    }

    /** The same database, every session starting with {@code options} (libpq's {@code -c name=value} form). */
    public ConnectionSettings withOptions(String options) {
        return new ConnectionSettings(host, port, database, user, password, sslMode, sslRootCert, options);
    }

    /** Bounded so that an unreachable host fails in seconds, not after the OS's TCP timeout. */
    public static final int CONNECT_TIMEOUT_SECONDS = 10;

    public ConnectionSettings {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        password = password == null ? "" : password;
        sslMode = sslMode == null ? "prefer" : sslMode;
        if (!SSL_MODES.contains(sslMode)) {
            throw new IllegalArgumentException("sslmode must be one of " + SSL_MODES + ", got '" + sslMode + "'");
        }
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
        p.setProperty("sslmode", sslMode);
        if (sslRootCert != null) {
            p.setProperty("sslrootcert", sslRootCert);
        }
        if (options != null) {
            p.setProperty("options", options);
        }
        return p;
    }

    /**
     * Properties for a replication connection to the database (logical replication protocol and
     * the replication commands), which speaks the simple query protocol only.
     */
    public Properties replicationProperties(String applicationName) {
        Properties p = jdbcProperties(applicationName);
        p.setProperty("replication", "database");
        p.setProperty("preferQueryMode", "simple");
        p.setProperty("assumeMinServerVersion", "10");
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
