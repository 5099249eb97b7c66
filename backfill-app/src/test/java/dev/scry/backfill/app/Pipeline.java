package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgServer;
import dev.scry.backfill.testing.TableDiff;

/**
 * Test fixture for one pipeline over a pair of test databases: writes its configuration, runs
 * commands in-process or as a separate JVM (for SIGKILL and SIGTERM), and compares tables.
 */
final class Pipeline {

    /** What an in-process command printed and returned. */
    record Outcome(int exitCode, String out, String err) {
    }

    private final Databases db;
    private final Path config;
    // The servers `source` names (a standby, or several for failover); the pair's source when empty.
    private List<PgServer> sourceServers = List.of();
    private List<String> tables;
    private String extraYaml;
    // stream.reader for every configuration this fixture writes (the reader dimension of parameterised tests); null: the default.
    private String reader;

    Pipeline(Databases db, Path dir, List<String> tables, String extraYaml) throws IOException {
        this.db = db;
        this.config = dir.resolve(db.name() + ".yaml");
        writeConfig(tables, extraYaml);
    }

    /** Every configuration written from now on streams with {@code reader} ({@code pgoutput} or {@code debezium}). */
    Pipeline streamingWith(Reader reader) throws IOException {
        this.reader = reader.configName;
        writeConfig(tables, extraYaml);
        return this;
    }

    /** The readers a parameterised test runs once each with (see {@link #streamingWith}). */
    enum Reader {
        PGOUTPUT("pgoutput"), DEBEZIUM("debezium");

        final String configName;

        Reader(String configName) {
            this.configName = configName;
        }

        /** As the test's display name shows it. */
        @Override
        public String toString() {
            return configName;
        }
    }

    /**
     * The pipeline reads from {@code servers} instead of the pair's source: one (a standby) as
     * {@code source.host}, several as {@code source.hosts} (the primary among them).
     */
    Pipeline readingFrom(PgServer... servers) throws IOException {
        sourceServers = List.of(servers);
        writeConfig(tables, extraYaml);
        return this;
    }

    void writeConfig(List<String> tables, String extraYaml) throws IOException {
        writeConfig(tables, extraYaml, db.shadowServer().user());
    }

    /** The same, connecting to the shadow as {@code shadowUser} (no password). */
    void writeConfig(List<String> tables, String extraYaml, String shadowUser) throws IOException {
        this.tables = tables;
        this.extraYaml = extraYaml;
        PgServer src = sourceServers.isEmpty() ? db.sourceServer() : sourceServers.get(0);
        PgServer shd = db.shadowServer();
        boolean sameUser = shadowUser.equals(shd.user());
        String where = sourceServers.size() > 1
                ? "hosts: [" + String.join(", ", sourceServers.stream().map(s -> "'" + s.host() + ":" + s.port() + "'").toList()) + "]"
                : "host: " + src.host() + ", port: " + src.port();
        StringBuilder yaml = new StringBuilder()
                .append("pipeline: ").append(db.name()).append('\n')
                .append("source: {").append(where).append(", database: ").append(db.name())
                .append(", user: ").append(src.user()).append(", password: '").append(src.password()).append("'}\n")
                .append("shadow: {host: ").append(shd.host()).append(", port: ").append(shd.port()).append(", database: ").append(db.name())
                .append(", user: '").append(shadowUser).append("', password: '").append(sameUser ? shd.password() : "").append("'}\n")
                .append("tables:\n");
        for (String t : tables) {
            yaml.append("  - '").append(t.replace("'", "''")).append("'\n");
        }
        yaml.append(extraYaml == null ? "" : extraYaml);
        if (reader != null && (extraYaml == null || !extraYaml.contains("stream:"))) {
            yaml.append("stream: {reader: ").append(reader).append("}\n");
        }
        if (extraYaml == null || !extraYaml.contains("metrics:")) {
            // Test processes run side by side: no fixed port for the metrics endpoint.
            yaml.append("metrics: {port: 0}\n");
        }
        Files.writeString(config, yaml.toString());
    }

    Path config() {
        return config;
    }

    String slot() {
        return "backfill_" + db.name();
    }

    /** Runs a command in this JVM, e.g. {@code run("snapshot")}. */
    Outcome run(String command, String... options) {
        return run(List.of(command), options);
    }

    /** Runs a command with a subcommand in this JVM, e.g. {@code run(List.of("table", "resnapshot"), "public.t")}. */
    Outcome run(List<String> command, String... options) {
        List<String> args = new ArrayList<>(command);
        args.addAll(List.of("-c", config.toString()));
        args.addAll(List.of(options));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Starts a command in a separate JVM with the test classpath; output goes to {@code log}. */
    Process spawn(Path log, String command, String... options) throws IOException {
        return spawn(log, Map.of(), command, options);
    }

    /** The same, with {@code env} added to the process's environment. */
    Process spawn(Path log, Map<String, String> env, String command, String... options) throws IOException {
        ProcessBuilder pb = processBuilder(command, options).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        return pb.start();
    }

    /** The same, with stdout and stderr each to a file of its own. */
    Process spawn(Path stdout, Path stderr, String command, String... options) throws IOException {
        return processBuilder(command, options).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
    }

    /** The same, started the way {@code nohup} starts it: SIGHUP ignored from the start. */
    Process spawnWithSighupIgnored(Path log, String command, String... options) throws IOException {
        List<String> args = new ArrayList<>(List.of("sh", "-c", "trap '' HUP; exec \"$@\"", "sh"));
        args.addAll(processBuilder(command, options).command());
        return new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private ProcessBuilder processBuilder(String command, String... options) {
        List<String> args = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), command, "-c", config.toString()));
        args.addAll(List.of(options));
        return new ProcessBuilder(args);
    }

    /** Waits until a daemon streams from the pipeline's slot (the slot is active). */
    void awaitStreaming() throws InterruptedException {
        await("the daemon streams", Duration.ofSeconds(60), sql(() ->
                readLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + slot() + "'") == 1));
    }

    /** The server the pipeline reads (and holds its slot on): a standby it was pointed at, else the source. */
    Connection readServer() throws SQLException {
        return sourceServers.size() == 1 ? sourceServers.get(0).connect(db.name()) : db.source();
    }

    /** A number from the server the pipeline reads. */
    long readLong(String sql) throws SQLException {
        try (Connection c = readServer(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : -1;
        }
    }

    /** `verify` finds every configured table equal (exit 0). */
    void assertVerifyEqual() {
        Outcome verify = run("verify");
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("equal: 0 of");
    }

    /** Every table equal on both sides, row for row (reports the first differences otherwise). */
    void assertShadowEqualsSource(String... quotedTables) throws SQLException {
        try (Connection source = db.source(); Connection shadow = db.shadow()) {
            List<String> differences = new ArrayList<>();
            for (String t : quotedTables) {
                differences.addAll(TableDiff.differences(source, shadow, t));
            }
            assertThat(differences).as("rows that differ between source and shadow").isEmpty();
        }
    }

    void source(String... statements) throws SQLException {
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        }
    }

    long shadowLong(String sql) throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : -1;
        }
    }

    String shadowText(String sql) throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    String sourceText(String sql) throws SQLException {
        try (Connection c = db.source(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    long sourceLong(String sql) throws SQLException {
        try (Connection c = db.source(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : -1;
        }
    }

    boolean slotExists() throws SQLException {
        try (Connection c = readServer(); PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Bytes between the slot's confirmed position and the source's current WAL position. */
    long slotLagBytes() throws SQLException {
        try (Connection c = db.source(); PreparedStatement ps = c.prepareStatement(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /** Whether the slot's confirmed LSN has reached the checkpoint LSN on the shadow. */
    boolean slotConfirmedCheckpoint() throws SQLException {
        String checkpoint;
        try (Connection c = db.shadow(); PreparedStatement ps = c.prepareStatement("SELECT lsn::text FROM scry_backfill.checkpoint WHERE pipeline = ?")) {
            ps.setString(1, db.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
                checkpoint = rs.getString(1);
            }
        }
        try (Connection c = db.source(); PreparedStatement ps = c.prepareStatement(
                "SELECT confirmed_flush_lsn >= ?::pg_lsn FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, checkpoint);
            ps.setString(2, slot());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /** Checkpoint phase on the shadow, or null before there is one. */
    String phase() throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('scry_backfill.checkpoint') IS NOT NULL")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return null;
            }
        }
        try (Connection c = db.shadow(); PreparedStatement ps = c.prepareStatement("SELECT phase FROM scry_backfill.checkpoint WHERE pipeline = ?")) {
            ps.setString(1, db.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** As {@link #await(String, Duration, BooleanSupplier)}, with the daemon's log in the failure (what it made of a signal). */
    static void await(String what, Duration timeout, Path daemonLog, BooleanSupplier condition) throws Exception {
        try {
            await(what, timeout, condition);
        }
        catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; the daemon's log:\n" + (Files.exists(daemonLog) ? Files.readString(daemonLog) : "(none)"), e);
        }
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    static int waitFor(Process p, Duration timeout) throws InterruptedException {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("process did not exit within " + timeout.toSeconds() + " s");
        }
        return p.exitValue();
    }

    /** SIGKILL: no shutdown hook, no signal handler, no last batch. */
    static void kill9(Process p) throws InterruptedException {
        p.destroyForcibly();
        p.waitFor();
    }

    /** A condition that queries a database; SQL errors count as "not yet". */
    interface SqlCondition {
        boolean test() throws SQLException;
    }

    static BooleanSupplier sql(SqlCondition c) {
        return () -> {
            try {
                return c.test();
            }
            catch (SQLException e) {
                return false;
            }
        };
    }
}
