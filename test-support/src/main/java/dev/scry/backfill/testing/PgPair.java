package dev.scry.backfill.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The source/shadow PostgreSQL pair integration tests run against, started once per JVM. Chosen
 * in this order:
 * <ol>
 *   <li>servers named by environment variables ({@code SCRY_TEST_SOURCE_HOST/PORT},
 *       {@code SCRY_TEST_SHADOW_HOST/PORT}, {@code SCRY_TEST_USER}, {@code SCRY_TEST_PASSWORD}),
 *       e.g. after {@code eval "$(scripts/pg-local.sh env)"};</li>
 *   <li>two Testcontainers PostgreSQL 15 containers, when a Docker engine is reachable;</li>
 *   <li>a local pair started from the server binaries by {@code scripts/pg-local.sh} on ports
 *       54340/54341 ({@code SCRY_TEST_LOCAL_PORT} moves them) with data under {@code .pg-local/test},
 *       left running for the next run.</li>
 * </ol>
 * The source always has {@code wal_level=logical}. Each test class takes fresh databases with
 * {@link #newDatabases(String)}, so classes never see each other's tables or slots.
 *
 * <p>{@code SCRY_TEST_SOURCE_VERSION} and {@code SCRY_TEST_SHADOW_VERSION} (14 to 18) choose the
 * PostgreSQL versions of the local pair (or the containers' images); Debian's 15 by default.
 * {@link #local} starts further pairs of any versions side by side (the version matrix), and
 * {@link #startStandby()} a physical standby of a local pair's source.
 */
public final class PgPair {

    private static PgPair instance;

    private final PgServer source;
    private final PgServer shadow;
    private final String how;
    private final Path localDir;
    private final Map<String, String> versions;

    PgPair(PgServer source, PgServer shadow, String how) {
        this(source, shadow, how, null, Map.of());
    }

    PgPair(PgServer source, PgServer shadow, String how, Path localDir) {
        this(source, shadow, how, localDir, Map.of());
    }

    private PgPair(PgServer source, PgServer shadow, String how, Path localDir, Map<String, String> versions) {
        this.source = source;
        this.shadow = shadow;
        this.how = how;
        this.localDir = localDir;
        this.versions = versions;
    }

    /**
     * A local pair of its own under {@code .pg-local/<name>} on {@code sourcePort} and the next
     * port, source and shadow of the given PostgreSQL versions ("14" ... "18", or null for Debian's
     * default), started (and the binaries fetched) unless already running; left running.
     */
    public static PgPair local(String name, int sourcePort, String sourceVersion, String shadowVersion) {
        PgPair pair = unstarted(name, sourcePort, sourceVersion, shadowVersion);
        pair.control("start", "both");
        return pair;
    }

    /** The same, on clusters made anew: whatever a previous run left under {@code .pg-local/<name>} is removed first. */
    public static PgPair fresh(String name, int sourcePort, String sourceVersion, String shadowVersion) {
        PgPair pair = unstarted(name, sourcePort, sourceVersion, shadowVersion);
        pair.destroy();
        pair.control("start", "both");
        return pair;
    }

    private static PgPair unstarted(String name, int sourcePort, String sourceVersion, String shadowVersion) {
        Map<String, String> versions = new java.util.HashMap<>();
        if (sourceVersion != null) {
            versions.put("PG_SOURCE_VERSION", sourceVersion);
        }
        if (shadowVersion != null) {
            versions.put("PG_SHADOW_VERSION", shadowVersion);
        }
        Path dir = repositoryRoot().resolve(".pg-local").resolve(name + forkSuffix());
        return new PgPair(new PgServer("127.0.0.1", sourcePort, "postgres", ""), new PgServer("127.0.0.1", sourcePort + 1, "postgres", ""),
                "local clusters " + name + " (PostgreSQL " + (sourceVersion == null ? "default" : sourceVersion) + " -> "
                        + (shadowVersion == null ? "default" : shadowVersion) + ") on " + sourcePort + "/" + (sourcePort + 1),
                dir, Map.copyOf(versions));
    }

    /** The standby of a local pair's source, on the source's port + 2 (see {@link #startStandby()}). */
    public PgServer standby() {
        return new PgServer(source.host(), source.port() + 2, source.user(), source.password());
    }

    /**
     * Starts a physical standby of the source (made on first use from a copy of the source's data
     * directory, with a physical slot, hot_standby_feedback, and on PostgreSQL 17 slot
     * synchronization: see scripts/pg-local.sh).
     */
    public PgServer startStandby() {
        control("start", "standby");
        return standby();
    }

    /** The standby becomes a primary. */
    public void promoteStandby() {
        control("promote", "standby");
    }

    /** Stops the source at once, as a crash would (no shutdown checkpoint, connections cut). */
    public void crashSource() {
        control("crash", "source");
    }

    /** Stops every cluster of this pair (source, shadow, standby) and removes their data. */
    public void destroy() {
        control("destroy", "both");
    }

    /**
     * Whether the servers are local clusters of {@code scripts/pg-local.sh} that tests may stop and
     * start ({@link #stop}, {@link #start}); not so for containers or servers run by someone else.
     */
    public boolean controllable() {
        return localDir != null;
    }

    /**
     * The CA certificate the local clusters' TLS certificates are signed with (pg-local.sh makes
     * one), when there is one: for tests of {@code sslmode: verify-full}.
     */
    public java.util.Optional<Path> sslRootCert() {
        String fromEnv = System.getenv("SCRY_TEST_SSL_ROOT_CERT");
        if (fromEnv != null) {
            return java.util.Optional.of(Path.of(fromEnv)).filter(Files::isReadable);
        }
        if (localDir == null) {
            return java.util.Optional.empty();
        }
        String env = control("env", "both");
        return env.lines().filter(l -> l.startsWith("export SCRY_TEST_SSL_ROOT_CERT="))
                .map(l -> Path.of(l.substring("export SCRY_TEST_SSL_ROOT_CERT=".length()))).filter(Files::isReadable).findFirst();
    }

    /** Stops one server ({@code "source"} or {@code "shadow"}), waiting until it is down. */
    public void stop(String which) {
        control("stop", which);
    }

    /** Starts one server again, waiting until it accepts connections. */
    public void start(String which) {
        control("start", which);
    }

    private String control(String command, String which) {
        if (localDir == null) {
            throw new IllegalStateException("the servers are not local pg-local.sh clusters (" + how + ")");
        }
        ProcessBuilder pb = new ProcessBuilder("bash", repositoryRoot().resolve("scripts/pg-local.sh").toString(), command, which);
        pb.environment().put("PG_SOURCE_PORT", Integer.toString(source.port()));
        pb.environment().put("PG_SHADOW_PORT", Integer.toString(shadow.port()));
        pb.environment().put("PG_LOCAL_DIR", localDir.toString());
        pb.environment().putAll(versions);
        pb.redirectErrorStream(true);
        try {
            Process p = pb.start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("pg-local.sh " + command + " " + which + " failed: " + output);
            }
            return output;
        }
        catch (IOException e) {
            throw new IllegalStateException(e);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static synchronized PgPair get() {
        if (instance == null) {
            instance = start();
        }
        return instance;
    }

    public PgServer source() {
        return source;
    }

    public PgServer shadow() {
        return shadow;
    }

    /** How the pair was found or started, for test logs. */
    public String how() {
        return how;
    }

    private static PgPair start() {
        Map<String, String> env = System.getenv();
        if (env.containsKey("SCRY_TEST_SOURCE_PORT") && env.containsKey("SCRY_TEST_SHADOW_PORT")) {
            String user = env.getOrDefault("SCRY_TEST_USER", "postgres");
            String password = env.getOrDefault("SCRY_TEST_PASSWORD", "");
            return new PgPair(
                    new PgServer(env.getOrDefault("SCRY_TEST_SOURCE_HOST", "127.0.0.1"), Integer.parseInt(env.get("SCRY_TEST_SOURCE_PORT")), user, password),
                    new PgServer(env.getOrDefault("SCRY_TEST_SHADOW_HOST", "127.0.0.1"), Integer.parseInt(env.get("SCRY_TEST_SHADOW_PORT")), user, password),
                    "servers from SCRY_TEST_* environment variables",
                    // `scripts/pg-local.sh env` names its data directory: those clusters can be stopped and started.
                    env.get("PG_LOCAL_DIR") == null ? null : Path.of(env.get("PG_LOCAL_DIR")));
        }
        if (!"true".equals(env.get("SCRY_TEST_NO_DOCKER")) && Containers.dockerAvailable()) {
            return Containers.start();
        }
        return startLocal();
    }

    private static PgPair startLocal() {
        Path root = repositoryRoot();
        Path script = root.resolve("scripts/pg-local.sh");
        int sourcePort = firstPort();
        int shadowPort = sourcePort + 1;
        String sourceVersion = System.getenv("SCRY_TEST_SOURCE_VERSION");
        String shadowVersion = System.getenv("SCRY_TEST_SHADOW_VERSION");
        if (sourceVersion != null || shadowVersion != null) {
            // Clusters keep their version: pairs of other versions live in directories of their own.
            return local("test-" + (sourceVersion == null ? "default" : sourceVersion) + "-" + (shadowVersion == null ? "default"
                    : shadowVersion), sourcePort, sourceVersion, shadowVersion);
        }
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "start");
        pb.environment().put("PG_SOURCE_PORT", Integer.toString(sourcePort));
        pb.environment().put("PG_SHADOW_PORT", Integer.toString(shadowPort));
        Path dir = root.resolve(".pg-local").resolve("test" + forkSuffix());
        pb.environment().put("PG_LOCAL_DIR", dir.toString());
        pb.redirectErrorStream(true);
        try {
            File log = Files.createTempFile("pg-local", ".log").toFile();
            pb.redirectOutput(log);
            Process p = pb.start();
            if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("scripts/pg-local.sh start failed:\n" + Files.readString(log.toPath(), StandardCharsets.UTF_8));
            }
        }
        catch (IOException e) {
            throw new IllegalStateException("cannot run scripts/pg-local.sh: " + e.getMessage(), e);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the local PostgreSQL pair", e);
        }
        return new PgPair(new PgServer("127.0.0.1", sourcePort, "postgres", ""), new PgServer("127.0.0.1", shadowPort, "postgres", ""),
                "local clusters started by scripts/pg-local.sh on " + sourcePort + "/" + shadowPort, dir);
    }

    /**
     * The first port of this test JVM's local servers: {@code SCRY_TEST_LOCAL_PORT} (54340 unless
     * set) in the first fork of a run, 1,000 more in each next one. Failsafe runs the integration
     * tests in parallel forks and passes each its number as {@code scry.test.fork}; the suite's pair
     * takes this port and the next, the version matrix, standby and failover tests up to 38 more.
     */
    public static int firstPort() {
        return Integer.parseInt(System.getenv().getOrDefault("SCRY_TEST_LOCAL_PORT", "54340")) + 1000 * (fork() - 1);
    }

    /** Which parallel fork of the run this JVM is (1 outside a forked run). */
    private static int fork() {
        String fork = System.getProperty("scry.test.fork", "fork1");
        return fork.matches("fork[1-9][0-9]*") ? Integer.parseInt(fork.substring("fork".length())) : 1;
    }

    /** Data directories are the fork's own: two forks never share a cluster. */
    private static String forkSuffix() {
        return fork() == 1 ? "" : "-fork" + fork();
    }

    /** The checkout's root: the nearest parent of the working directory holding scripts/pg-local.sh. */
    public static Path repositoryRoot() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("scripts/pg-local.sh"))) {
                return d;
            }
        }
        throw new IllegalStateException("no scripts/pg-local.sh above " + dir);
    }

    /**
     * Creates an empty source database and an empty shadow database for one test class, named
     * after {@code prefix} plus a random suffix (also usable as a pipeline id).
     */
    public Databases newDatabases(String prefix) {
        String id = (prefix + "_" + Long.toString(System.nanoTime() % 1_000_000_000L, 36)).toLowerCase();
        try {
            create(source, id);
            create(shadow, id);
        }
        catch (SQLException e) {
            throw new IllegalStateException("cannot create test databases " + id + ": " + e.getMessage(), e);
        }
        return new Databases(this, id);
    }

    private static void create(PgServer server, String database) throws SQLException {
        try (Connection c = server.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE \"" + database + "\"");
        }
    }

    /** Drops slots left on the source for the database, then both databases. */
    void drop(String database) {
        for (PgServer server : List.of(source, shadow)) {
            try (Connection c = server.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database + "' AND pid <> pg_backend_pid()");
                st.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '" + database + "' AND NOT active");
                st.execute("DROP DATABASE IF EXISTS \"" + database + "\"");
            }
            catch (SQLException e) {
                // Leaving a test database behind is harmless; a failing cleanup must not fail the test.
                System.err.println("could not drop test database " + database + ": " + e.getMessage());
            }
        }
    }
}
