package dev.scry.backfill.testing;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/** The Testcontainers path, for machines with a Docker engine. */
final class Containers {

    private static final String IMAGE = "postgres:15";

    private Containers() {
    }

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        }
        catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    @SuppressWarnings("resource") // the containers live as long as the test JVM; Testcontainers' reaper removes them
    static PgPair start() {
        PostgreSQLContainer source = new PostgreSQLContainer(IMAGE)
                .withCommand("postgres", "-c", "wal_level=logical", "-c", "max_replication_slots=64", "-c", "max_wal_senders=64",
                        "-c", "fsync=off");
        PostgreSQLContainer shadow = new PostgreSQLContainer(IMAGE).withCommand("postgres", "-c", "fsync=off");
        source.start();
        shadow.start();
        return new PgPair(
                new PgServer(source.getHost(), source.getMappedPort(5432), source.getUsername(), source.getPassword()),
                new PgServer(shadow.getHost(), shadow.getMappedPort(5432), shadow.getUsername(), shadow.getPassword()),
                "Testcontainers " + IMAGE);
    }
}
