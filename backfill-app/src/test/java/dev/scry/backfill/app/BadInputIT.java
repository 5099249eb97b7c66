package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/**
 * Bad configuration and unprepared sources: exit 2, one line that names the problem, and nothing
 * written on either side (no slot, no publication, no metadata, no shadow table).
 */
class BadInputIT {

    @TempDir
    static Path dir;

    private static Databases db;
    private static Pipeline pipeline;
    /** Every case, for the table the class prints and writes to target/bad-input.md when it is done. */
    private static final List<String[]> TABLE = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        db = PgPair.get().newDatabases("bad_it");
        pipeline = new Pipeline(db, dir, List.of("public.good"), "");
        pipeline.source("CREATE TABLE good (id int PRIMARY KEY, v text)", "CREATE TABLE keyless (v text)",
                "CREATE TABLE clash (id int PRIMARY KEY, v text)", "CREATE ROLE plain_user LOGIN",
                "CREATE TABLE \"Gen\" (id int PRIMARY KEY, twice int GENERATED ALWAYS AS (id * 2) STORED)",
                "CREATE TABLE refs (id int PRIMARY KEY, rel regclass)",
                "CREATE TABLE parted (at int, v text) PARTITION BY RANGE (at)",
                "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10)",
                "CREATE ROLE noselect_user LOGIN REPLICATION",
                // pg-local.sh makes this role (only) log in with a password.
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'scry_password_check') THEN"
                        + " CREATE ROLE scry_password_check LOGIN REPLICATION PASSWORD 'right horse battery'; END IF; END $$",
                "GRANT SELECT ON good TO scry_password_check");
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE clash (id int PRIMARY KEY, v integer)");
        }
    }

    @AfterAll
    static void tearDown() throws SQLException {
        pipeline.source("DROP ROLE IF EXISTS plain_user", "DROP ROLE IF EXISTS noselect_user");
        db.close();
        StringBuilder md = new StringBuilder("| case | command | exit | message |\n|---|---|---|---|\n");
        TABLE.stream().sorted(java.util.Comparator.comparing(r -> r[0]))
                .forEach(r -> md.append("| ").append(r[0]).append(" | ").append(r[1]).append(" | ").append(r[2]).append(" | ")
                        .append(r[3].replace("|", "\\|")).append(" |\n"));
        System.out.println("[bad input]\n" + md);
        try {
            Files.writeString(Path.of("target", "bad-input.md"), md.toString());
        }
        catch (java.io.IOException e) {
            System.out.println("could not write target/bad-input.md: " + e);
        }
    }

    @Test
    void unknownKeyIsNamed() throws Exception {
        Path config = write("unknown.yaml", valid().replace("tables:", "tabels: [public.good]\ntables:"));

        assertRefused(config, "snapshot", "tabels is not a known key");
    }

    @Test
    void unknownNestedKeyIsNamedWithItsPath() throws Exception {
        Path config = write("nested.yaml", valid().replace("batch: {max-rows: 10}", "batch: {max-rowz: 10}"));

        assertRefused(config, "cdc", "batch.max-rowz is not a known key");
    }

    @Test
    void missingFileIsNamed() throws Exception {
        assertRefused(dir.resolve("nowhere.yaml"), "snapshot", "nowhere.yaml: no such file");
    }

    @Test
    void wrongTypeIsNamed() throws Exception {
        Path config = write("type.yaml", valid().replace("batch: {max-rows: 10}", "batch: {max-rows: lots}"));

        assertRefused(config, "resume", "batch.max-rows must be an integer, got 'lots'");
    }

    @Test
    void everyConfigurationProblemIsNamedInOneRefusal() throws Exception {
        Path config = write("config-problems.yaml", valid().replace("batch: {max-rows: 10}", "batch: {max-rows: 0}")
                + "snapshot: {method: fast}\ntransforms: [{type: mask, columns: [public.good.v], keep-last: x}]\n");

        assertRefused(config, "snapshot", "3 problems", "batch.max-rows must be between 1 and 1000000, got 0",
                "snapshot.method must be copy or debezium, got 'fast'", "transforms[0].keep-last must be a number, got x");
    }

    @Test
    void tableMissingOnTheSourceIsNamed() throws Exception {
        Path config = write("missing-table.yaml", valid().replace("[public.good]", "[public.good, public.nothere]"));

        assertRefused(config, "snapshot", "table public.nothere does not exist on the source");
    }

    @Test
    void tableWithoutPrimaryKeyIsRefusedBeforeItIsPublished() throws Exception {
        Path config = write("keyless.yaml", valid().replace("[public.good]", "[public.good, public.keyless]"));

        assertRefused(config, "snapshot", "table public.keyless has no primary key");
        // Publishing it would have made UPDATE and DELETE on the source fail; they still work.
        pipeline.source("INSERT INTO keyless VALUES ('x')", "UPDATE keyless SET v = 'y'", "DELETE FROM keyless");
    }

    @Test
    void everyBrokenTableIsReportedInOneMessage() throws Exception {
        Path config = write("several.yaml", valid().replace("[public.good]",
                "[public.good, public.nothere, public.keyless, 'public.\"Gen\"', public.refs, public.parted]"));

        String message = assertRefused(config, "snapshot", "the configured tables cannot be replicated as they are (5 problems):",
                "(1) table public.nothere does not exist on the source",
                "(2) table public.keyless has no primary key", "ALTER TABLE \"public\".\"keyless\" REPLICA IDENTITY FULL;",
                "(3) table public.\"Gen\" has generated column twice",
                "(4) table public.refs column rel: type regclass cannot be carried",
                "(5) partitioned table public.parted has no usable replica identity on public.parted itself, public.parted_1",
                "ALTER TABLE \"public\".\"parted\" REPLICA IDENTITY FULL; ALTER TABLE \"public\".\"parted_1\" REPLICA IDENTITY FULL;");
        assertThat(message).doesNotContain("public.good");
    }

    @Test
    void sourceWithoutLogicalWalIsRefusedWithTheFix() throws Exception {
        // The shadow server runs with wal_level=replica: use it as a source.
        var shadow = db.shadowServer();
        Path config = write("wal.yaml", valid().replaceFirst("source: \\{[^}]*}",
                "source: {host: " + shadow.host() + ", port: " + shadow.port() + ", database: postgres, user: " + shadow.user() + "}"));

        assertRefused(config, "snapshot", "wal_level is 'replica'", "set wal_level = logical");
    }

    @Test
    void userWithoutReplicationIsRefusedWithTheFix() throws Exception {
        Path config = write("role.yaml", valid().replaceFirst("(source: \\{[^}]*user: )[^,}]+", "$1plain_user"));

        assertRefused(config, "cdc", "lacks the REPLICATION attribute", "ALTER ROLE plain_user REPLICATION");
    }

    @Test
    void shadowTableThatCannotHoldTheSourceRowsIsRefused() throws Exception {
        Path config = write("clash.yaml", valid().replace("[public.good]", "[public.good, public.clash]"));

        assertRefused(config, "snapshot", "shadow table public.clash column v is integer but the source's is text");
    }

    @Test
    void invalidYamlIsRefusedWithItsLine() throws Exception {
        Path config = write("invalid.yaml", valid().replace("tables: [public.good]", "tables: [public.good"));

        assertRefused(config, "snapshot", "invalid.yaml:", "not valid YAML");
    }

    @Test
    void unreadableFileIsRefused() throws Exception {
        Path config = Files.createDirectories(dir.resolve("a-directory.yaml"));

        assertRefused(config, "snapshot", "a-directory.yaml: cannot be read");
    }

    @Test
    void wrongPasswordIsRefusedWithoutShowingIt() throws Exception {
        Path config = write("password.yaml", valid().replaceFirst("(source: \\{[^}]*user: )[^,}]+", "$1scry_password_check, password: 'not it 123'"));

        String message = assertRefused(config, "snapshot", "cannot log in to source", "check source.user and source.password");
        assertThat(message).doesNotContain("not it 123");
    }

    @Test
    void passwordFromAFileLogsInAndIsNeverShown() throws Exception {
        Path secret = write("source.pass", "right horse battery\n");
        Path config = write("password-file.yaml", valid().replaceFirst("(source: \\{[^}]*user: )[^,}]+",
                "$1scry_password_check, password-file: '" + secret + "'"));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();

        int code = Main.run(new String[] {"status", "--json", "-c", config.toString()}, new java.io.PrintStream(out, true),
                new java.io.PrintStream(err, true));

        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString() + err.toString()).doesNotContain("right horse battery");
        assertRefused(write("no-file.yaml", valid().replaceFirst("(source: \\{[^}]*user: )[^,}]+",
                "$1scry_password_check, password-file: /nonexistent/pass")), "snapshot", "source.password-file: cannot read /nonexistent/pass");
    }

    @Test
    void unreachableHostFailsWithinBoundedTime() throws Exception {
        // TEST-NET-1: routed nowhere. The connect timeout bounds the wait.
        Path config = write("unreachable.yaml", valid().replaceFirst("(source: \\{host: )[^,]+", "$1192.0.2.1"));
        long start = System.nanoTime();

        String message = assertRefused(config, "snapshot", 1, "cannot connect to source", "check source.host and source.port");

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
        assertThat(message).contains("192.0.2.1");
    }

    @Test
    void hostNameThatDoesNotResolveIsSaidSo() throws Exception {
        // .invalid never resolves (RFC 2606).
        Path config = write("unknown-host.yaml", valid().replaceFirst("(shadow: \\{host: )[^,]+", "$1shadow-db.invalid"));

        String message = assertRefused(config, "snapshot", 1, "shadow-db.invalid does not resolve", "check shadow.host");

        assertThat(message).doesNotEndWith("shadow-db.invalid");
    }

    @Test
    void everyShadowTableThatHoldsRowsIsNamedInOneMessage() throws Exception {
        pipeline.source("CREATE SCHEMA \"Other Schema\"", "CREATE TABLE filled_a (id int PRIMARY KEY)",
                "CREATE TABLE \"Other Schema\".filled_b (id int PRIMARY KEY)");
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA \"Other Schema\"");
            st.execute("CREATE TABLE filled_a (id int PRIMARY KEY)");
            st.execute("CREATE TABLE \"Other Schema\".filled_b (id int PRIMARY KEY)");
            st.execute("INSERT INTO filled_a VALUES (1)");
            st.execute("INSERT INTO \"Other Schema\".filled_b VALUES (1)");
        }
        try {
            Path config = write("filled.yaml", valid().replace("[public.good]", "[public.good, public.filled_a, '\"Other Schema\".filled_b']"));

            assertRefused(config, "snapshot", "public.filled_a", "\"Other Schema\".filled_b",
                    "TRUNCATE \"public\".\"filled_a\", \"Other Schema\".\"filled_b\"");
        }
        finally {
            try (Connection c = db.shadow(); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA \"Other Schema\" CASCADE");
                st.execute("DROP TABLE filled_a");
            }
        }
    }

    @Test
    void userWithoutSelectIsRefusedWithTheGrant() throws Exception {
        Path config = write("noselect.yaml", valid().replaceFirst("(source: \\{[^}]*user: )[^,}]+", "$1noselect_user"));

        assertRefused(config, "snapshot", "source user cannot read table public.good", "GRANT SELECT ON \"public\".\"good\"");
    }

    @Test
    void slotInUseByAnotherProcessIsRefused() throws Exception {
        var src = db.sourceServer();
        String recvlogical = Path.of(System.getProperty("pg.bin", "/usr/lib/postgresql/15/bin"), "pg_recvlogical").toString();
        if (!Files.isExecutable(Path.of(recvlogical))) {
            recvlogical = "pg_recvlogical";
        }
        String[] base = {recvlogical, "-h", src.host(), "-p", Integer.toString(src.port()), "-U", src.user(), "-d", db.name(), "--slot", "held_slot"};
        List<String> create = new java.util.ArrayList<>(List.of(base));
        create.addAll(List.of("--create-slot", "-P", "test_decoding"));
        assertThat(new ProcessBuilder(create).inheritIO().start().waitFor()).isZero();
        List<String> hold = new java.util.ArrayList<>(List.of(base));
        hold.addAll(List.of("--start", "-f", "/dev/null"));
        Process holder = new ProcessBuilder(hold).start();
        try {
            Pipeline.await("the slot is held", Duration.ofSeconds(30), Pipeline.sql(() ->
                    pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'held_slot' AND active") == 1));
            Path config = write("held.yaml", valid() + "slot: held_slot\n");

            assertRefused(config, "cdc", "replication slot held_slot is in use by process");
        }
        finally {
            holder.destroy();
            holder.waitFor();
            pipeline.source("SELECT pg_drop_replication_slot('held_slot') FROM pg_replication_slots WHERE slot_name = 'held_slot' AND NOT active");
        }
    }

    @Test
    void errorIsOneLineFromTheLauncherToo() throws Exception {
        Path config = write("process.yaml", valid().replace("tables:", "tabels: [public.good]\ntables:"));
        Path log = dir.resolve("process.log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "snapshot", "-c", config.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile());

        int code = Pipeline.waitFor(pb.start(), Duration.ofSeconds(60));

        assertThat(code).isEqualTo(2);
        assertThat(Files.readAllLines(log)).hasSize(1).first().asString().contains("tabels is not a known key");
    }

    /** A configuration that works, as flow-style YAML the tests edit one key at a time. */
    private static String valid() {
        var src = db.sourceServer();
        var shd = db.shadowServer();
        return "pipeline: " + db.name() + "\n"
                + "source: {host: " + src.host() + ", port: " + src.port() + ", database: " + db.name() + ", user: " + src.user() + "}\n"
                + "shadow: {host: " + shd.host() + ", port: " + shd.port() + ", database: " + db.name() + ", user: " + shd.user() + "}\n"
                + "tables: [public.good]\n"
                + "batch: {max-rows: 10}\n";
    }

    private static Path write(String name, String yaml) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, yaml);
        return p;
    }

    private static String assertRefused(Path config, String command, String... expected) throws SQLException {
        return assertRefused(config, command, 2, expected);
    }

    private static String assertRefused(Path config, String command, int exit, String... expected) throws SQLException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code = Main.run(new String[] {command, "-c", config.toString()}, new java.io.PrintStream(out, true),
                new java.io.PrintStream(err, true));
        String message = err.toString().strip();

        TABLE.add(new String[] {config.getFileName().toString(), command, Integer.toString(code), message});
        assertThat(code).as(message).isEqualTo(exit);
        assertThat(message).startsWith("error: ").doesNotContain("\n").contains(expected);
        assertNothingWritten();
        return message;
    }

    private static void assertNothingWritten() throws SQLException {
        assertThat(pipeline.slotExists()).as("slot").isFalse();
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication")).as("publications").isZero();
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_namespace WHERE nspname = 'scry_backfill'")) {
            rs.next();
            assertThat(rs.getLong(1)).as("metadata schema").isZero();
        }
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_tables WHERE tablename = 'good'")).as("shadow table").isZero();
    }
}
