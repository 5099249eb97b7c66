package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/** `tables: [app.*]`: every matching table is copied, and tables created while cdc runs join without loss. */
class TablePatternsIT extends PipelineTest {

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("patterns_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA app");
            st.execute("CREATE TABLE app.a (id int PRIMARY KEY, v text)");
            st.execute("CREATE TABLE app.\"B table\" (id int PRIMARY KEY, v text)");
            st.execute("CREATE TABLE public.outside (id int PRIMARY KEY)");
            st.execute("INSERT INTO app.a SELECT g, 'a' FROM generate_series(1, 200) g");
            st.execute("INSERT INTO app.\"B table\" SELECT g, 'b' FROM generate_series(1, 100) g");
        }
        pipeline = new Pipeline(db, dir, List.of("app.*"), "discover-tables-every-ms: 200\nbatch: {max-rows: 50, max-delay-ms: 20}\n");
    }

    @Test
    void patternCopiesEveryMatchingTableAndFollowsTablesCreatedWhileStreaming() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_tables WHERE schemaname = 'app'")).isEqualTo(2);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_tables WHERE tablename = 'outside'")).isZero();

        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(() ->
                pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + pipeline.slot() + "'") == 1));
        // Rows written in the same transaction as CREATE TABLE, before the pipeline can know the table.
        pipeline.source("BEGIN; CREATE TABLE app.fresh (id int PRIMARY KEY, v text);"
                + " INSERT INTO app.fresh SELECT g, 'early' FROM generate_series(1, 150) g; COMMIT");
        Pipeline.await("the new table is on the shadow", Duration.ofSeconds(60), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM scry_backfill.table_progress WHERE table_name = 'fresh'") == 1));
        pipeline.source("INSERT INTO app.fresh SELECT g, 'late' FROM generate_series(151, 200) g",
                "UPDATE app.fresh SET v = 'changed' WHERE id % 3 = 0", "DELETE FROM app.fresh WHERE id % 10 = 0",
                "UPDATE app.a SET v = 'x' WHERE id < 20");
        Pipeline.kill9(cdc);
        Pipeline.Outcome caughtUp = pipeline.run("resume", "--exit-when-caught-up");
        assertThat(caughtUp.exitCode()).as(caughtUp.err() + Files.readString(dir.resolve("cdc.log"))).isZero();

        pipeline.assertShadowEqualsSource("app.a", "app.\"B table\"", "app.fresh");
        pipeline.assertVerifyEqual();
    }

    @Test
    void newTableThatWouldBreakSourceWritesStopsThePipelineAndIsNotPublished() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(() ->
                pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + pipeline.slot() + "'") == 1));
        pipeline.source("CREATE TABLE app.scratch (v text)");

        int code = Pipeline.waitFor(cdc, Duration.ofSeconds(60));
        assertThat(code).isEqualTo(1);
        assertThat(Files.readString(dir.resolve("cdc.log"))).contains("table app.scratch has no primary key");
        pipeline.source("INSERT INTO app.scratch VALUES ('x')", "UPDATE app.scratch SET v = 'y'", "DELETE FROM app.scratch");
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication_tables WHERE tablename = 'scratch'")).isZero();
    }
}
