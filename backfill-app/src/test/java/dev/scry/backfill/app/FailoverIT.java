package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.PgServer;
import dev.scry.backfill.testing.TableDiff;

/**
 * A failover of the source under a running writer and a running pipeline (PostgreSQL 17): the
 * slot is a failover slot, the standby keeps a synchronized copy, the primary crashes and the
 * standby is promoted; the pipeline, given both servers in {@code source.hosts}, follows to the
 * new primary and continues from its checkpoint there, with nothing lost or doubled. A checkpoint
 * the new primary's history does not hold (the shadow ahead of it) is refused.
 */
class FailoverIT {

    private static final int PORT = PgPair.firstPort() + 36;

    @TempDir
    Path dir;

    private PgPair pair;
    private PgServer primary;
    private PgServer standby;
    private Databases db;
    private Pipeline pipeline;

    @BeforeEach
    void setUp() throws Exception {
        // Made anew each run: a failover leaves no topology to start from again.
        pair = PgPair.fresh("failover-17", PORT, "17", "17");
        primary = pair.source();
        standby = pair.startStandby();
        db = pair.newDatabases("failover");
        Pipeline.await("the database reaches the standby", Duration.ofSeconds(30), Pipeline.sql(() -> {
            try (Connection c = standby.connect(db.name())) {
                return true;
            }
        }));
        try (Connection c = db.source()) {
            Workload.createSchema(c, 1_000);
        }
        pipeline = new Pipeline(db, dir, List.of(Workload.TABLES),
                "batch: {max-rows: 200, max-delay-ms: 20}\nretry: {initial-backoff-ms: 100, max-backoff-ms: 1000, give-up-after-s: 120}\n")
                .readingFrom(primary, standby);
    }

    @AfterEach
    void tearDown() {
        if (pair != null) {
            pair.destroy();
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void pipelineFollowsThePromotedStandbyAndContinuesFromItsCheckpointButNotFromOneBeyondTheFork() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertThat(query(primary, "SELECT failover FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'"))
                .as("created as a failover slot").isEqualTo("t");
        Pipeline.Outcome ready = pipeline.run("status");
        assertThat(ready.out()).contains("failover-ready");

        Path log = dir.resolve("cdc.log");
        Process daemon = pipeline.spawn(log, "cdc");
        long duringFailover;
        Duration followedAfter;
        long total;
        long transactions;
        try (Workload writer = new Workload(db, false, 17).writingThrough(this::currentPrimary).surviveRestarts().start()) {
            pipeline.awaitStreaming();
            Pipeline.await("the writer commits 300 transactions", Duration.ofSeconds(60), () -> writer.transactions() >= 300);
            // The standby's copy becomes usable once the primary's slot has moved its restart point past where the
            // copy could start, which happens at the primary's records of running transactions (every 15 s), and the
            // standby's slot sync worker naps up to 30 s while nothing changes: both are hurried along.
            Pipeline.await("the standby holds a synchronized copy of the slot", Duration.ofSeconds(90), Pipeline.sql(() ->
                    query(primary, "SELECT pg_log_standby_snapshot()") != null && query(standby, "SELECT pg_reload_conf()") != null
                            && "t".equals(query(standby, "SELECT synced AND NOT temporary AND confirmed_flush_lsn IS NOT NULL"
                            + " FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'"))));

            long before = writer.transactions();
            long crashed = System.nanoTime();
            pair.crashSource();
            pair.promoteStandby();
            Pipeline.await("the pipeline streams from the new primary", Duration.ofSeconds(90), Pipeline.sql(() ->
                    "t".equals(query(standby, "SELECT active FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'"))));
            duringFailover = writer.transactions() - before;
            followedAfter = Duration.ofNanos(System.nanoTime() - crashed);
            long after = writer.transactions();
            Pipeline.await("the writer commits on the new primary", Duration.ofSeconds(60), () -> writer.transactions() >= after + 200);
            transactions = writer.stop();
            total = writer.transactions();
        }
        finally {
            daemon.destroy();
        }
        assertThat(Pipeline.waitFor(daemon, Duration.ofSeconds(60))).as(Files.readString(log)).isZero();
        assertThat(Files.readString(log)).contains("streaming again from the checkpoint");

        Pipeline.Outcome caughtUp = pipeline.run("resume", "--exit-when-caught-up");
        assertThat(caughtUp.exitCode()).as(caughtUp.err()).isZero();
        long rows = 0;
        try (Connection source = standby.connect(db.name()); Connection shadow = db.shadow()) {
            for (String table : Workload.TABLES) {
                assertThat(TableDiff.differences(source, shadow, table)).as(table + " on the new primary and the shadow").isEmpty();
                rows += TableDiff.count(source, table);
            }
        }
        System.out.printf("failover: PostgreSQL 17: %d rows compared equal on the new primary and the shadow; the writer committed %d"
                + " transactions, %d of them in the %.1f s between the primary's crash and the pipeline streaming from the promoted"
                + " standby%n", rows, total, duringFailover, followedAfter.toMillis() / 1000.0);
        Files.readAllLines(log).stream().filter(l -> l.contains("WARN") || l.contains("streaming from slot")).forEach(System.out::println);
        assertThat(transactions).isPositive();
        assertThat(checkpointOffset()).as("the checkpoint says which timeline it was streamed on").contains("\"timeline\": 2");

        // Had the old primary sent the shadow changes the standby never received, the checkpoint would lie
        // beyond the point where the new timeline left the old one: that is refused, and nothing applied.
        String[] confirmed = query(standby, "SELECT (confirmed_flush_lsn - '0/0')::bigint || ' ' || confirmed_flush_lsn"
                + " FROM pg_replication_slots WHERE slot_name = '" + pipeline.slot() + "'").split(" ");
        try (Connection shadow = db.shadow(); Statement st = shadow.createStatement()) {
            st.executeUpdate("UPDATE scry_backfill.checkpoint SET lsn = '" + confirmed[1] + "', source_offset = source_offset"
                    + " || jsonb_build_object('lsn', " + confirmed[0] + ", 'timeline', 1)");
        }
        Pipeline.Outcome refused = pipeline.run("resume", "--exit-when-caught-up");
        assertThat(refused.exitCode()).as(refused.err()).isEqualTo(2);
        assertThat(refused.err()).contains("was promoted from a standby that stopped following its old primary at",
                "the shadow holds changes the old primary committed and the new primary never received");
    }

    private String checkpointOffset() throws java.sql.SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT source_offset::text FROM scry_backfill.checkpoint")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Whichever of the two servers is the primary now, as an application with both in its URL would connect. */
    private Connection currentPrimary() throws java.sql.SQLException {
        Properties p = new Properties();
        p.setProperty("user", primary.user());
        p.setProperty("password", primary.password());
        p.setProperty("targetServerType", "primary");
        p.setProperty("hostRecheckSeconds", "1");
        p.setProperty("connectTimeout", "2");
        return DriverManager.getConnection("jdbc:postgresql://" + primary.host() + ":" + primary.port() + "," + standby.host() + ":"
                + standby.port() + "/" + db.name(), p);
    }

    private String query(PgServer server, String sql) throws java.sql.SQLException {
        try (Connection c = server.connect(db.name()); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
