package dev.scry.backfill.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/** One running PostgreSQL server the tests can reach. */
public record PgServer(String host, int port, String user, String password) {

    public String url(String database) {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    public Connection connect(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("ApplicationName", "scry-backfill tests");
        return DriverManager.getConnection(url(database), p);
    }
}
