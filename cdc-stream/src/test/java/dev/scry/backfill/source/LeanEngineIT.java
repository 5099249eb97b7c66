package dev.scry.backfill.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.PgServer;
import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;

/**
 * The engine as the pipeline configures it streams every change without Debezium's per-event
 * metric work: its streaming metrics are registered and connected, and their event counters and
 * "last event" summary are never touched.
 */
class LeanEngineIT {

    private static final int CHANGES = 500;
    private static Databases db;

    @BeforeAll
    static void setUp() throws Exception {
        db = PgPair.get().newDatabases("lean_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            st.execute("CREATE PUBLICATION lean_it FOR TABLE t");
            st.execute("SELECT pg_create_logical_replication_slot('lean_it', 'pgoutput')");
            for (int i = 0; i < CHANGES; i += 100) {
                st.execute("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(" + (i + 1) + ", " + (i + 100) + ") g");
            }
        }
    }

    @AfterAll
    static void tearDown() {
        db.close();
    }

    @Test
    void changesStreamWithoutDebeziumsPerEventMetric() throws Exception {
        PgServer server = db.sourceServer();
        StreamSettings settings = new StreamSettings("lean_it", new ConnectionSettings(server.host(), server.port(), db.name(),
                server.user(), server.password()), List.of(TableSelector.parse("public.t")), "lean_it", "lean_it", 100,
                Duration.ofMillis(50), Duration.ofSeconds(10));
        OffsetStorage memory = new OffsetStorage("org.apache.kafka.connect.storage.MemoryOffsetBackingStore", Map.of());
        AtomicLong changes = new AtomicLong();
        AtomicReference<Map<String, Object>> metrics = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        DebeziumEngine<RecordChangeEvent<SourceRecord>> engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(EngineProperties.build(settings, EngineProperties.Start.STREAM_ONLY, memory, ToastPlaceholder.random()))
                .using((success, message, error) -> done.countDown())
                .notifying((List<RecordChangeEvent<SourceRecord>> batch,
                            DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) -> {
                    for (RecordChangeEvent<SourceRecord> event : batch) {
                        if (event.record().value() instanceof Struct value && value.schema().field("op") != null) {
                            changes.incrementAndGet();
                        }
                        committer.markProcessed(event);
                    }
                    committer.markBatchFinished();
                    // Read while the engine runs: its beans go when it stops.
                    if (changes.get() >= CHANGES && metrics.get() == null) {
                        try {
                            metrics.set(streamingMetrics());
                        }
                        catch (Exception e) {
                            failure.set(e);
                        }
                        done.countDown();
                    }
                })
                .build();
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            thread.execute(engine);
            assertThat(done.await(2, TimeUnit.MINUTES)).as("the engine delivered %d of %d changes", changes.get(), CHANGES).isTrue();
        }
        finally {
            engine.close();
            thread.shutdown();
            thread.awaitTermination(1, TimeUnit.MINUTES);
        }

        assertThat(failure.get()).isNull();
        assertThat(changes.get()).isEqualTo(CHANGES);
        assertThat(metrics.get()).containsEntry("Connected", true)
                .containsEntry("TotalNumberOfEventsSeen", 0L)
                .containsEntry("LastEvent", null);
    }

    private static Map<String, Object> streamingMetrics() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        Set<ObjectName> names = server.queryNames(new ObjectName("debezium.postgres:type=connector-metrics,context=streaming,*"), null);
        assertThat(names).hasSize(1);
        ObjectName name = names.iterator().next();
        Map<String, Object> values = new java.util.HashMap<>();
        for (String attribute : List.of("Connected", "TotalNumberOfEventsSeen", "LastEvent")) {
            values.put(attribute, server.getAttribute(name, attribute));
        }
        return values;
    }
}
