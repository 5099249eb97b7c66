package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/** A change the shadow rejects: stop with the checkpoint before it (default), or a dead letter and go on. */
class DeadLetterIT extends PipelineTest {

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("dlq_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, qty int, note text)");
            st.execute("INSERT INTO orders SELECT g, g, 'n' FROM generate_series(1, 100) g");
        }
        pipeline = new Pipeline(db, dir, List.of("public.orders"), "");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        // The shadow refuses what the source allows.
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE orders ADD CONSTRAINT no_negative CHECK (qty >= 0)");
        }
        pipeline.source("INSERT INTO orders VALUES (101, 1, 'fine'), (102, -5, 'refused by the shadow'), (103, 3, 'fine')",
                "UPDATE orders SET note = 'after' WHERE id <= 10");
    }

    @Test
    void byDefaultTheRejectedBatchStopsThePipelineWithNothingLost() throws Exception {
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).isEqualTo(1);
        assertThat(cdc.err()).contains("the shadow rejected a batch").contains("no_negative").contains("run `resume`");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM orders WHERE id > 100")).as("nothing of the batch").isZero();

        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE orders DROP CONSTRAINT no_negative");
        }
        assertThat(pipeline.run("resume", "--exit-when-caught-up").exitCode()).isZero();
        pipeline.assertVerifyEqual();
    }

    @Test
    void withToleranceAllTheChangeBecomesADeadLetterAndReplaysOnceFixed() throws Exception {
        pipeline.writeConfig(List.of("public.orders"), "errors: {tolerance: all}\n");

        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM orders WHERE id IN (101, 103)")).isEqualTo(2);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM orders WHERE note = 'after'")).isEqualTo(10);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM orders WHERE id = 102")).isZero();

        Pipeline.Outcome list = pipeline.run("dlq", "list");
        assertThat(list.exitCode()).isZero();
        assertThat(list.out()).contains("1 dead letter(s)").contains("INSERT").contains("public.orders").contains("no_negative");
        Matcher sizes = Pattern.compile("flexbuffers (\\d+) B \\(json (\\d+) B\\)").matcher(list.out());
        assertThat(sizes.find()).isTrue();
        System.out.printf("[dlq] one change: %s bytes as FlexBuffers, %s bytes as JSON%n", sizes.group(1), sizes.group(2));
        long id = pipeline.shadowLong("SELECT id FROM scry_backfill.dead_letters");
        Pipeline.Outcome show = pipeline.run("dlq", "show", Long.toString(id));
        assertThat(show.out()).contains("\"qty\":\"-5\"").contains("refused by the shadow");

        Pipeline.Outcome stillRejected = pipeline.run("dlq", "replay");
        assertThat(stillRejected.exitCode()).isEqualTo(1);
        assertThat(stillRejected.out()).contains("still rejected");

        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE orders DROP CONSTRAINT no_negative");
        }
        Pipeline.Outcome replay = pipeline.run("dlq", "replay");
        assertThat(replay.exitCode()).as(replay.out()).isZero();
        assertThat(replay.out()).contains("1 replayed, 0 still rejected");
        pipeline.assertVerifyEqual();
        assertThat(pipeline.run("dlq", "list").out()).contains("0 dead letter(s)");
        assertThat(pipeline.run("dlq", "purge").out()).contains("0 dead letter(s) removed");
    }
}
