package dev.scry.backfill.testing;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * A source database and a shadow database of the same name, owned by one test class. The name
 * doubles as the pipeline id (it is lower case, letters, digits and underscores).
 */
public final class Databases implements AutoCloseable {

    private final PgPair pair;
    private final String name;

    Databases(PgPair pair, String name) {
        this.pair = pair;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public PgServer sourceServer() {
        return pair.source();
    }

    public PgServer shadowServer() {
        return pair.shadow();
    }

    public Connection source() throws SQLException {
        return pair.source().connect(name);
    }

    public Connection shadow() throws SQLException {
        return pair.shadow().connect(name);
    }

    @Override
    public void close() {
        pair.drop(name);
    }
}
