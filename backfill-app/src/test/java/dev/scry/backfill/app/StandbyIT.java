package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.PgServer;
import dev.scry.backfill.testing.TableDiff;

/**
 * The pipeline reading from a physical standby (PostgreSQL 16 and 17 decode logically there): what
 * needs the primary is named at start, all in one message, with statements that work when run
 * there; then the slot, the snapshot and the stream run on the standby while a writer works on the
 * primary, and the primary carries none of it (no slot, no session of ours); `cdc
 * --exit-when-caught-up` finds its way without writing a marker, `verify` and `status` work there.
 */
class StandbyIT {

    private static final int FIRST_PORT = PgPair.firstPort() + 30;

    static Stream<Arguments> versions() {
        return Stream.of(Arguments.of("16", FIRST_PORT), Arguments.of("17", FIRST_PORT + 3));
    }

    @Execution(ExecutionMode.CONCURRENT)
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("versions")
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void slotSnapshotAndStreamRunOnTheStandbyAndThePrimaryCarriesNone(String version, int port, @TempDir Path dir) throws Exception {
        PgPair pair = PgPair.local("standby-" + version, port, version, version);
        PgServer standby = pair.startStandby();
        try (Databases db = pair.newDatabases("standby")) {
            Pipeline.await("the database reaches the standby", Duration.ofSeconds(30), Pipeline.sql(() -> {
                try (Connection c = standby.connect(db.name())) {
                    return true;
                }
            }));
            try (Connection c = db.source()) {
                Workload.createSchema(c, 1_000);
            }
            List<String> tables = List.of(Workload.TABLES);
            Pipeline pipeline = new Pipeline(db, dir, tables, "batch: {max-rows: 200, max-delay-ms: 20}\n").readingFrom(standby);
            try {
                pipeline.source("CREATE TABLE nokey (v text)");
                Statements.on(standby, "ALTER SYSTEM SET hot_standby_feedback = off", "SELECT pg_reload_conf()");
                pipeline.writeConfig(Stream.concat(tables.stream(), Stream.of("public.nokey")).toList(), "");

                Pipeline.Outcome refused = pipeline.run("snapshot");

                assertThat(refused.exitCode()).isEqualTo(2);
                assertThat(refused.err().strip().lines()).hasSize(1);
                assertThat(refused.err()).contains("(3 problems)", "hot_standby_feedback is off on the standby",
                        "publication " + pipeline.slot() + " does not exist on the standby", "table public.nokey has no primary key");
                assertThat(pipeline.slotExists()).as("nothing was created").isFalse();
                // The statement the message names, run on the primary, is the fix.
                String create = refused.err().substring(refused.err().indexOf("CREATE PUBLICATION"));
                create = create.substring(0, create.indexOf(')') + 1);
                pipeline.source(create.replace(", \"public\".\"nokey\"", ""));
                Statements.on(standby, "ALTER SYSTEM RESET hot_standby_feedback", "SELECT pg_reload_conf()");
                pipeline.writeConfig(tables, "batch: {max-rows: 200, max-delay-ms: 20}\n");
                Pipeline.await("the publication reaches the standby", Duration.ofSeconds(30),
                        Pipeline.sql(() -> pipeline.readLong("SELECT count(*) FROM pg_publication_tables") == tables.size()));

                streamFromTheStandby(version, pair, db, pipeline, dir);
            }
            finally {
                Pipeline.Outcome teardown = pipeline.run("teardown", "--drop-metadata");
                assertThat(teardown.out()).contains("publication " + pipeline.slot() + " is kept: the source is a standby");
                pipeline.source("DROP PUBLICATION IF EXISTS " + pipeline.slot());
            }
        }
    }

    private static void streamFromTheStandby(String version, PgPair pair, Databases db, Pipeline pipeline, Path dir) throws Exception {
        // A standby's slot waits for the primary's next record of running transactions.
        AtomicBoolean creating = new AtomicBoolean(true);
        Thread nudger = new Thread(() -> {
            while (creating.get()) {
                try {
                    Statements.on(pair.source(), "SELECT pg_log_standby_snapshot()");
                    Thread.sleep(300);
                }
                catch (Exception e) {
                    return;
                }
            }
        });
        nudger.setDaemon(true);
        nudger.start();
        Pipeline.Outcome snapshot;
        try {
            snapshot = pipeline.run("snapshot");
        }
        finally {
            creating.set(false);
        }
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertThat(pipeline.readLong("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'")).isEqualTo(1);

        Path log = dir.resolve("cdc.log");
        Process daemon = pipeline.spawn(log, "cdc");
        long transactions;
        try (Workload writer = new Workload(db, false, 16).start()) {
            pipeline.awaitStreaming();
            Pipeline.await("the writer commits 300 transactions", Duration.ofSeconds(60), () -> writer.transactions() >= 300);
            assertNothingOfOursOnThePrimary(pipeline);
            transactions = writer.stop();
        }
        finally {
            daemon.destroy();
        }
        assertThat(Pipeline.waitFor(daemon, Duration.ofSeconds(60))).as(Files.readString(log)).isZero();

        // What the primary committed has reached the standby (its replay), and the stream: no marker written.
        Pipeline.Outcome caughtUp = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(caughtUp.exitCode()).as(caughtUp.err()).isZero();
        long rows = 0;
        try (Connection source = db.source(); Connection shadow = db.shadow()) {
            for (String table : Workload.TABLES) {
                assertThat(TableDiff.differences(source, shadow, table)).as(table).isEmpty();
                rows += TableDiff.count(source, table);
            }
        }
        pipeline.assertVerifyEqual();
        Pipeline.Outcome status = pipeline.run("status");
        assertThat(status.exitCode()).as(status.err()).isZero();
        assertThat(status.out()).contains("(standby)", "the slot lives on this standby");
        assertNothingOfOursOnThePrimary(pipeline);
        System.out.printf("standby: PostgreSQL %s: %d rows compared equal after %d writer transactions on the primary, streamed from"
                + " the standby%n", version, rows, transactions);
    }

    /** No slot, no publication reader, no session of ours on the primary. */
    private static void assertNothingOfOursOnThePrimary(Pipeline pipeline) throws Exception {
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")).isZero();
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'scry-backfill%'"
                + " AND application_name <> 'scry-backfill tests'")).isZero();
    }

    /** Statements run on a server's postgres database. */
    private static final class Statements {
        static void on(PgServer server, String... sql) throws Exception {
            try (Connection c = server.connect("postgres"); Statement st = c.createStatement()) {
                for (String s : sql) {
                    st.execute(s);
                }
            }
        }
    }
}
