package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/** A quiet source database next to a busy one: heartbeats keep the slot from retaining the busy one's WAL. */
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class HeartbeatIT extends PipelineTest {

    @Parameter
    Pipeline.Reader reader;

    private static final long MB = 1024 * 1024;

    private Databases busy;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("quiet_it");
        busy = PgPair.get().newDatabases("busy_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE quiet (id int PRIMARY KEY)");
        }
        pipeline = new Pipeline(db, dir, List.of("public.quiet"), "heartbeat-interval-ms: 1000\n").streamingWith(reader);
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
    }

    @AfterEach
    void closeBusyDatabase() {
        busy.close();
    }

    private long retainedBytes() throws java.sql.SQLException {
        return pipeline.sourceLong("SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots WHERE slot_name = '"
                + pipeline.slot() + "'");
    }

    @Test
    @Timeout(240)
    void slotKeepsUpWhileAnotherDatabaseWrites200MbOfWal() throws Exception {
        Process cdc = pipeline.spawn(dir.resolve("cdc.log"), "cdc");
        Pipeline.await("the daemon streams", Duration.ofSeconds(60), Pipeline.sql(() ->
                pipeline.sourceLong("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = '" + pipeline.slot() + "'") == 1));
        long start = pipeline.sourceLong("SELECT pg_current_wal_lsn() - '0/0'");
        try (Connection other = busy.source(); Statement st = other.createStatement()) {
            // 200 MB of WAL in another database of the same server, over about 20 s.
            for (int i = 0; i < 40; i++) {
                st.execute("SELECT pg_logical_emit_message(false, 'busy', repeat('x', 5 * 1024 * 1024))");
                Thread.sleep(500);
            }
        }
        long written = pipeline.sourceLong("SELECT pg_current_wal_lsn() - '0/0'") - start;
        assertThat(written).as("WAL written meanwhile").isGreaterThan(200 * MB);

        Pipeline.await("the slot retains less than 64 MB", Duration.ofSeconds(90), Pipeline.sql(() -> retainedBytes() < 64 * MB));
        System.out.printf("[heartbeat] %d MB of WAL written by another database; the slot retains %d MB%n", written / MB,
                retainedBytes() / MB);
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).isZero();
    }
}
