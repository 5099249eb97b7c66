package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.scry.backfill.testing.PgPair;

/** The rate limit holds a running daemon back, shows in status, and changes on SIGHUP without a restart. */
class RateLimitIT extends PipelineTest {

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("rate_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE burst (id int PRIMARY KEY, v text)");
        }
        pipeline = new Pipeline(db, dir, List.of("public.burst"), "batch: {max-rows: 100, max-delay-ms: 20}\n");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
    }

    @Test
    @Timeout(120)
    void limitHoldsTheDaemonBackAndSighupLiftsIt() throws Exception {
        pipeline.writeConfig(List.of("public.burst"), "batch: {max-rows: 100, max-delay-ms: 20}\nrate-limit: {rows-per-second: 300}\n");
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(() ->
                pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + pipeline.slot() + "'") == 1));
        pipeline.source("INSERT INTO burst SELECT g, 'x' FROM generate_series(1, 9000) g");

        Pipeline.await("the daemon reports its rate", Duration.ofSeconds(30), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM scry_backfill.rates WHERE rows_per_second > 100") == 1));
        long achieved = pipeline.shadowLong("SELECT rows_per_second::bigint FROM scry_backfill.rates");
        assertThat(achieved).as("achieved rows/s under a 300 rows/s limit").isBetween(100L, 450L);
        Pipeline.Outcome status = pipeline.run("status");
        assertThat(status.out()).contains("configured 300 rows/s").contains("under a running limit of 300 rows/s");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM burst")).as("held back").isLessThan(9000);

        pipeline.writeConfig(List.of("public.burst"), "batch: {max-rows: 100, max-delay-ms: 20}\nrate-limit: {rows-per-second: 0}\n");
        new ProcessBuilder("kill", "-HUP", Long.toString(cdc.pid())).start().waitFor();
        Pipeline.await("the new limit is in force", Duration.ofSeconds(30), dir.resolve("cdc.log"), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT rows_limit FROM scry_backfill.rates") == 0));
        Pipeline.await("the burst is applied, unthrottled", Duration.ofSeconds(20), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM burst") == 9000));
        assertThat(cdc.isAlive()).as("no restart").isTrue();
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).isZero();
    }

    @Test
    @Timeout(90)
    void aDaemonThatCannotReloadOnSighupSaysSoAtStart() throws Exception {
        Path log = dir.resolve("nohup.log");
        Process cdc = pipeline.spawnWithSighupIgnored(log, "cdc");
        Pipeline.await("the daemon warns that SIGHUP is ignored", Duration.ofSeconds(60), log,
                () -> read(log).contains("SIGHUP is ignored by this process (started under nohup?)"));
        // The warning comes while the daemon starts, before it handles SIGTERM: no exit status to expect.
        cdc.destroyForcibly();
        Pipeline.waitFor(cdc, Duration.ofSeconds(60));
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        }
        catch (IOException e) {
            return "";
        }
    }
}
