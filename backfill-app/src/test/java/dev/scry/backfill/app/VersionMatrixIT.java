package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import dev.scry.backfill.testing.TableDiff;

/**
 * The core path on every supported PostgreSQL: for each pair of versions (source → shadow) a local
 * pair of its own, and on it a snapshot of every type ({@link EveryType}, without the row of
 * several megabytes, which tests sizes rather than versions) and every table shape
 * ({@link EveryShape}), then `cdc` streaming their changes and schema changes
 * ({@link SchemaChanges}) under a running writer ({@link Workload}), SIGKILL of the daemon,
 * more changes, `resume --exit-when-caught-up`, and every table compared row by row and with
 * `verify`. Pairs run side by side (JUnit's concurrent mode for this class only); the rest of the
 * suite stays on one version.
 */
class VersionMatrixIT {

    /** Ports after the suite's pair (SCRY_TEST_LOCAL_PORT and the next): two per pair. */
    private static final int FIRST_PORT = PgPair.firstPort() + 10;

    /** Source and shadow versions; {@code -Dscry.matrix=17-17,14-18} runs some of them only. */
    private static final List<String> PAIRS = List.of("14-14", "16-16", "17-17", "18-18", "14-18", "15-17");

    static Stream<Arguments> pairs() {
        List<String> chosen = List.of(System.getProperty("scry.matrix", String.join(",", PAIRS)).split(","));
        return PAIRS.stream().filter(chosen::contains)
                .map(p -> Arguments.of(p.split("-")[0], p.split("-")[1], FIRST_PORT + 2 * PAIRS.indexOf(p)));
    }

    @Execution(ExecutionMode.CONCURRENT)
    @org.junit.jupiter.api.Test
    void anOlderShadowIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
        PgPair pair = PgPair.local("matrix-17-16", FIRST_PORT + 2 * PAIRS.size(), "17", "16");
        try (Databases db = pair.newDatabases("older_shadow")) {
            Pipeline pipeline = new Pipeline(db, dir, EveryShape.COMPOSITE_KEYS.tables(), "");
            pipeline.source(EveryShape.COMPOSITE_KEYS.ddl());

            Pipeline.Outcome refused = pipeline.run("snapshot");

            assertThat(refused.exitCode()).isEqualTo(2);
            assertThat(refused.err().strip().lines()).hasSize(1);
            assertThat(refused.err()).contains("runs PostgreSQL 16.", "older than the source's 17.",
                    "a shadow must run the source's major version (17) or a newer one");
            assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots") + pipeline.sourceLong("SELECT count(*) FROM pg_publication"))
                    .isZero();
            assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_namespace WHERE nspname = 'scry_backfill'")).isZero();
        }
    }

    @Execution(ExecutionMode.CONCURRENT)
    @org.junit.jupiter.api.Test
    void dropColumnsWorksOnPostgreSQL14WhichHasNoPublicationColumnLists(@TempDir Path dir) throws Exception {
        PgPair pair = PgPair.local("matrix-14-14", FIRST_PORT + 2 * PAIRS.indexOf("14-14"), "14", "14");
        try (Databases db = pair.newDatabases("drop_columns")) {
            Pipeline pipeline = new Pipeline(db, dir, List.of("public.people"),
                    "transforms: [{type: drop-columns, columns: [public.people.secret]}]\n");
            pipeline.source("CREATE TABLE people (id int PRIMARY KEY, secret text, v text)",
                    "INSERT INTO people SELECT g, 'secret ' || g, 'v' || g FROM generate_series(1, 100) g");
            assertThat(pipeline.run("snapshot").exitCode()).isZero();
            pipeline.source("UPDATE people SET secret = 'new', v = 'changed' WHERE id % 3 = 0", "DELETE FROM people WHERE id % 7 = 0",
                    "INSERT INTO people VALUES (1000, 'secret', 'new row')");

            Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

            assertThat(cdc.exitCode()).as(cdc.err()).isZero();
            assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'secret'"))
                    .isZero();
            try (Connection source = db.source(); Connection shadow = db.shadow()) {
                String rows = "(SELECT id, v FROM people)";
                assertThat(TableDiff.differences(source, shadow, rows)).isEmpty();
                assertThat(TableDiff.count(shadow, "people")).isEqualTo(TableDiff.count(source, "people")).isPositive();
            }
            pipeline.run("teardown", "--drop-metadata");
        }
    }

    @Execution(ExecutionMode.CONCURRENT)
    @org.junit.jupiter.api.Test
    void anOrdinarySlotBecomesAFailoverSlotWhereTheServerHasThem(@TempDir Path dir) throws Exception {
        PgPair pair = PgPair.local("matrix-17-17", FIRST_PORT + 2 * PAIRS.indexOf("17-17"), "17", "17");
        try (Databases db = pair.newDatabases("failover_slot")) {
            Pipeline pipeline = new Pipeline(db, dir, EveryShape.COMPOSITE_KEYS.tables(), "slot-failover: false\n");
            pipeline.source(EveryShape.COMPOSITE_KEYS.ddl());
            String failover = "SELECT failover::int FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'";
            assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();
            assertThat(pipeline.sourceLong(failover)).as("slot-failover: false").isZero();

            pipeline.writeConfig(EveryShape.COMPOSITE_KEYS.tables(), "");
            pipeline.source(EveryShape.COMPOSITE_KEYS.changes());
            Pipeline.Outcome again = pipeline.run("cdc", "--exit-when-caught-up");

            assertThat(again.exitCode()).as(again.err()).isZero();
            assertThat(pipeline.sourceLong(failover)).as("altered when the next command started").isEqualTo(1);
            pipeline.run("teardown", "--drop-metadata");
        }
    }

    @Execution(ExecutionMode.CONCURRENT)
    @ParameterizedTest(name = "PostgreSQL {0} -> {1}")
    @MethodSource("pairs")
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void snapshotStreamSchemaChangesKillAndResumeLeaveTheShadowEqual(String sourceVersion, String shadowVersion, int port,
                                                                     @TempDir Path dir) throws Exception {
        long started = System.nanoTime();
        PgPair pair = PgPair.local("matrix-" + sourceVersion + "-" + shadowVersion, port, sourceVersion, shadowVersion);
        long clustersUp = System.nanoTime();
        try (Databases db = pair.newDatabases("matrix")) {
            List<String> tables = new ArrayList<>(List.of(EveryType.TABLE, SchemaChanges.TABLE));
            tables.addAll(EveryShape.allTables());
            tables.addAll(List.of(Workload.TABLES));
            Pipeline pipeline = new Pipeline(db, dir, tables, "batch: {max-rows: 200, max-delay-ms: 20}\n");
            pipeline.source(EveryType.schema());
            pipeline.source(EveryType.insertsOfOrdinarySize());
            pipeline.source(EveryShape.allDdl());
            pipeline.source(SchemaChanges.DDL);
            try (Connection c = db.source()) {
                Workload.createSchema(c, 2_000);
            }
            assertThat(pipeline.sourceLong("SELECT current_setting('server_version_num')::int / 10000")).isEqualTo(Long.parseLong(sourceVersion));
            assertThat(pipeline.shadowLong("SELECT current_setting('server_version_num')::int / 10000")).isEqualTo(Long.parseLong(shadowVersion));

            Pipeline.Outcome snapshot = pipeline.run("snapshot");
            assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
            EveryType.assertSameText(db, pipeline);

            long snapshotted = System.nanoTime();
            Path log = dir.resolve("cdc.log");
            Process daemon = pipeline.spawn(log, "cdc");
            long transactions;
            long streamed;
            try (Workload writer = new Workload(db, false, sourceVersion.hashCode() * 31L + shadowVersion.hashCode())
                    .paced(Duration.ofMillis(5)).start()) {
                pipeline.awaitStreaming();
                pipeline.source(EveryType.changes());
                pipeline.source(EveryShape.allChanges());
                pipeline.source(SchemaChanges.ADDED_COLUMNS);
                Pipeline.await("the daemon applies the added columns' rows", Duration.ofSeconds(120),
                        Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM items WHERE id = 1002") == 1));
                long before = writer.transactions();
                Pipeline.await("the writer commits while the daemon streams", Duration.ofSeconds(60), () -> writer.transactions() > before + 50);
                Pipeline.kill9(daemon);
                streamed = System.nanoTime();
                pipeline.source(SchemaChanges.DROPPED_AND_WIDENED);
                long killed = writer.transactions();
                Pipeline.await("the writer commits while the daemon is down", Duration.ofSeconds(60), () -> writer.transactions() > killed + 50);
                transactions = writer.stop();
            }
            finally {
                daemon.destroyForcibly();
            }

            long written = System.nanoTime();
            Pipeline.Outcome resumed = pipeline.run("resume", "--exit-when-caught-up");
            long caughtUp = System.nanoTime();
            assertThat(resumed.exitCode()).as(resumed.err() + "\ndaemon log:\n" + Files.readString(log)).isZero();
            long rows = 0;
            try (Connection source = db.source(); Connection shadow = db.shadow()) {
                for (String table : tables) {
                    rows += TableDiff.count(source, table);
                    if (table.equals(EveryType.TABLE)) {
                        continue; // below, with its types
                    }
                    assertThat(TableDiff.differences(source, shadow, table)).as("%s on PostgreSQL %s -> %s", table, sourceVersion,
                            shadowVersion).isEmpty();
                }
            }
            EveryType.assertSameText(db, pipeline);
            pipeline.assertVerifyEqual();
            pipeline.run("teardown", "--drop-metadata");
            System.out.printf("version matrix: PostgreSQL %s -> %s: %d rows in %d tables equal after snapshot, %d writer transactions,"
                    + " schema changes, kill -9 and resume; clusters up in %.1f s, core path %.1f s (set-up and snapshot %.1f s, streaming"
                    + " %.1f s, writing while down %.1f s, resume %.1f s, comparing %.1f s)%n", sourceVersion, shadowVersion, rows,
                    tables.size(), transactions, (clustersUp - started) / 1e9, (System.nanoTime() - clustersUp) / 1e9,
                    (snapshotted - clustersUp) / 1e9, (streamed - snapshotted) / 1e9, (written - streamed) / 1e9, (caughtUp - written) / 1e9,
                    (System.nanoTime() - caughtUp) / 1e9);
        }
    }
}
