package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/**
 * Tables without a key, told once and fixable: a keyless partitioned table (with a sub-partitioned
 * partition) is refused in one message naming the partitioned table and every partition that
 * lacks REPLICA IDENTITY FULL, with the statements that fix it; run exactly as advised, the
 * pipeline carries it through updates (rows moving between partitions included) and deletes. A
 * replica identity changed behind the pipeline's back stops the stream at the first change it
 * cannot apply, with the statements and commands that get it going again: after {@code table
 * resnapshot} and {@code resume}, every table is equal, other tables' changes made meanwhile
 * included.
 */
class KeylessTablesIT extends PipelineTest {

    private static final Pattern ADVISED = Pattern.compile("ALTER TABLE \"[^\"]+\"\\.\"[^\"]+\" REPLICA IDENTITY FULL;");

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("keyless_it");
        pipeline = new Pipeline(db, dir, List.of("app.events", "public.orders"), "batch: {max-rows: 50, max-delay-ms: 20}\n");
        pipeline.source("CREATE SCHEMA app",
                "CREATE TABLE app.events (at date NOT NULL, kind text NOT NULL, v int) PARTITION BY RANGE (at)",
                "CREATE TABLE app.events_2022_01 PARTITION OF app.events FOR VALUES FROM ('2022-01-01') TO ('2022-02-01')",
                "CREATE TABLE app.events_2022_02 PARTITION OF app.events FOR VALUES FROM ('2022-02-01') TO ('2022-03-01')",
                "CREATE TABLE app.events_2022_03 PARTITION OF app.events FOR VALUES FROM ('2022-03-01') TO ('2022-04-01')"
                        + " PARTITION BY LIST (kind)",
                "CREATE TABLE app.events_2022_03_a PARTITION OF app.events_2022_03 FOR VALUES IN ('a')",
                "CREATE TABLE app.events_2022_03_other PARTITION OF app.events_2022_03 DEFAULT",
                "CREATE TABLE orders (id int PRIMARY KEY, note text)",
                // One partition already has it: the advice leaves it out.
                "ALTER TABLE app.events_2022_02 REPLICA IDENTITY FULL",
                "INSERT INTO app.events SELECT date '2022-01-01' + (g % 90), CASE WHEN g % 3 = 0 THEN 'a' ELSE 'b' END, g"
                        + " FROM generate_series(1, 300) g",
                "INSERT INTO app.events SELECT at, kind, v FROM app.events WHERE v % 10 = 0",
                "INSERT INTO orders SELECT g, 'o' || g FROM generate_series(1, 100) g");
    }

    @Test
    void aKeylessPartitionedTableIsRefusedOnceNamingEveryPartitionAndRunsAsAdvised() throws Exception {
        pipeline.source("CREATE TABLE notes (body text)");
        pipeline.writeConfig(List.of("app.events", "public.orders", "public.notes"), "batch: {max-rows: 50, max-delay-ms: 20}\n");

        Pipeline.Outcome refused = pipeline.run("snapshot");

        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(2);
        String message = refused.err().strip();
        assertThat(message.lines()).hasSize(1);
        assertThat(message).contains("(2 problems)", "table public.notes has no primary key",
                "partitioned table app.events has no usable replica identity on app.events itself, app.events_2022_01,"
                        + " app.events_2022_03_a, app.events_2022_03_other:");
        List<String> advised = advised(message);
        assertThat(advised).containsExactly("ALTER TABLE \"app\".\"events\" REPLICA IDENTITY FULL;",
                "ALTER TABLE \"app\".\"events_2022_01\" REPLICA IDENTITY FULL;",
                "ALTER TABLE \"app\".\"events_2022_03_a\" REPLICA IDENTITY FULL;",
                "ALTER TABLE \"app\".\"events_2022_03_other\" REPLICA IDENTITY FULL;",
                "ALTER TABLE \"public\".\"notes\" REPLICA IDENTITY FULL;");
        assertThat(pipeline.slotExists()).isFalse();
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication")).isZero();

        pipeline.source(advised.toArray(String[]::new));
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        pipeline.assertShadowEqualsSource("app.events", "orders");

        for (int round = 0; round < 2; round++) {
            pipeline.source(changes(round));
            Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
            assertThat(cdc.exitCode()).as(cdc.err()).isZero();
            pipeline.assertShadowEqualsSource("app.events", "orders", "notes");
        }
        assertThat(pipeline.shadowLong("SELECT count(*) FROM app.events")).isEqualTo(pipeline.sourceLong("SELECT count(*) FROM app.events"))
                .isGreaterThan(250);
    }

    @Test
    void aChangeTheStreamCannotApplyStopsItWithAdviceAndTheTableIsCopiedAgain() throws Exception {
        pipeline.source("ALTER TABLE app.events REPLICA IDENTITY FULL", "ALTER TABLE app.events_2022_01 REPLICA IDENTITY FULL",
                "ALTER TABLE app.events_2022_03_a REPLICA IDENTITY FULL", "ALTER TABLE app.events_2022_03_other REPLICA IDENTITY FULL");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();

        // The daemon streams; while it runs, a table without a key cannot be copied again (by chunks, it has no key to order them).
        Path log = dir.resolve("cdc.log");
        Process running = pipeline.spawn(log, "cdc");
        String message;
        try {
            pipeline.awaitStreaming();
            Pipeline.Outcome busy = pipeline.run(List.of("table", "resnapshot"), "app.events");
            assertThat(busy.exitCode()).isEqualTo(2);
            assertThat(busy.out()).contains("app.events has no key", "stop cdc and run `table resnapshot app.events`");

            // Behind the pipeline's back: the source still accepts the writes (each partition logs
            // the whole old row), but they are published as the partitioned table's, whose
            // identity now says key.
            pipeline.source("ALTER TABLE app.events REPLICA IDENTITY DEFAULT");
            pipeline.source(changes(0));

            assertThat(Pipeline.waitFor(running, Duration.ofSeconds(90))).isEqualTo(1);
            message = Files.readAllLines(log).stream().filter(l -> l.startsWith("error: ")).findFirst().orElseThrow();
        }
        finally {
            running.destroy();
            running.waitFor();
        }
        System.out.println("[stream stopped] " + message);
        String config = pipeline.config().toString();
        assertThat(message).contains("a change to app.events (no key) arrived without its whole old row",
                "run on the source: ALTER TABLE \"app\".\"events\" REPLICA IDENTITY FULL;",
                "scripts/backfill table resnapshot app.events -c " + config + " && scripts/backfill resume -c " + config);

        // Meanwhile the source goes on; then the operator follows the advice.
        pipeline.source("INSERT INTO orders SELECT g, 'late' || g FROM generate_series(1001, 1050) g", "DELETE FROM orders WHERE id < 5");
        pipeline.source(advised(message).toArray(String[]::new));
        pipeline.source(changes(1));

        Pipeline.Outcome recopied = pipeline.run(List.of("table", "resnapshot"), "app.events");
        assertThat(recopied.exitCode()).as(recopied.err()).isZero();
        assertThat(recopied.out()).contains("copied table app.events of pipeline " + db.name() + " again");
        pipeline.source("UPDATE orders SET note = note || ' after' WHERE id % 7 = 0", "UPDATE app.events SET v = -v WHERE v % 11 = 0",
                "DELETE FROM app.events WHERE v % 13 = 0");
        Pipeline.Outcome resumed = pipeline.run("resume", "--exit-when-caught-up");

        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        pipeline.assertShadowEqualsSource("app.events", "orders");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM orders WHERE note LIKE 'late%'")).isEqualTo(50);
        pipeline.assertVerifyEqual();
    }

    /** Inserts, updates (some moving rows to another partition or sub-partition), deletes; duplicates stay duplicates. */
    private static String[] changes(int round) {
        return new String[] {
            "INSERT INTO app.events SELECT date '2022-01-01' + (g % 90), 'c', g FROM generate_series(1000 + " + round + " * 100, 1049 + "
                    + round + " * 100) g",
            "UPDATE app.events SET v = v + 1 WHERE v % 5 = " + round,
            "UPDATE app.events SET at = at + 31 WHERE v % 17 = 0 AND at < '2022-02-28'",
            "UPDATE app.events SET kind = 'a' WHERE kind = 'b' AND v % 4 = 0",
            "DELETE FROM app.events WHERE v % 9 = " + round,
            "BEGIN; UPDATE orders SET note = note || '+' WHERE id % 3 = " + round + "; UPDATE app.events SET kind = kind || '!'"
                    + " WHERE v % 23 = 0; INSERT INTO orders VALUES (" + (200 + round) + ", 'new'); COMMIT",
        };
    }

    private static List<String> advised(String message) {
        List<String> out = new ArrayList<>();
        Matcher m = ADVISED.matcher(message);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
