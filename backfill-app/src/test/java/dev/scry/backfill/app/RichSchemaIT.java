package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.SchemaDump;

/**
 * The shadow is the source's database: a schema with every kind of object the shadow gets
 * (schema/rich.sql) arrives as pg_dump shows it, through the snapshot and after a writer ran while
 * cdc streamed; sequences and every table's rows are equal, and the triggers that would change
 * rows and the foreign keys that would cascade never acted on the pipeline's writes.
 */
class RichSchemaIT extends PipelineTest {

    private static final List<String> SCHEMAS = List.of("shop", "ledger");
    private static final String[] TABLES = {"shop.customers", "shop.orders", "shop.coupons", "shop.bookings", "shop.tags", "shop.events",
        "shop.daily_totals", "ledger.entries"};

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("rich_it");
        SchemaDump.load(db.sourceServer(), db.name(), "schema/rich.sql");
        pipeline = new Pipeline(db, dir, List.of("shop.*", "ledger.entries"),
                "snapshot: {parallelism: 2, chunk-mb: 1}\nbatch: {max-rows: 300, max-delay-ms: 50}\nsequences: {sync-interval-ms: 200}\n");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO shop.customers (email, name, kind) SELECT 'c' || g || '@example.com', 'customer ' || g,"
                    + " (ARRAY['person', 'company'])[g % 2 + 1]::shop.customer_kind FROM generate_series(1, 300) g");
            st.execute("INSERT INTO shop.orders (customer_id, amount, status, placed, note) SELECT 1000 + 5 * (g % 300), g % 500,"
                    + " (ARRAY['new', 'paid', 'done'])[g % 3 + 1], DATE '2024-01-01' + g % 400, repeat('n', g % 50)"
                    + " FROM generate_series(1, 20000) g");
            st.execute("INSERT INTO shop.coupons SELECT 'Code-' || g, 1000 + 5 * (g % 300), g % 100 FROM generate_series(1, 1000) g");
            st.execute("INSERT INTO shop.bookings SELECT g, CASE WHEN g % 2 = 0 THEN g END,"
                    + " tsrange(TIMESTAMP '2024-01-01' + g * interval '1 hour', TIMESTAMP '2024-01-01' + (g + 1) * interval '1 hour')"
                    + " FROM generate_series(1, 500) g");
            st.execute("INSERT INTO shop.tags SELECT 't' || g, l, 'label ' || g FROM generate_series(1, 200) g, unnest(ARRAY['en', 'fr']) l");
            st.execute("INSERT INTO shop.events SELECT g, DATE '2023-12-01' + g % 500, (ARRAY['click', 'view', 'buy'])[g % 3 + 1],"
                    + " 1000 + 5 * (g % 300), jsonb_build_object('g', g) FROM generate_series(1, 6000) g");
            st.execute("INSERT INTO ledger.entries (order_id, amount) SELECT g, g FROM generate_series(1, 3000) g");
            st.execute("REFRESH MATERIALIZED VIEW shop.daily_totals");
            st.execute("SELECT setval('shop.spare_seq', -40)");
            st.execute("ANALYZE");
        }
    }

    @Test
    void theShadowIsTheSourcesDatabaseAfterTheSnapshotAndAfterStreaming() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");

        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertSameDatabase();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM shop.daily_totals")).isPositive();

        Path log = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(log, "cdc");
        write(400);
        try {
            Pipeline.await("the writer's last change is on the shadow", Duration.ofSeconds(120),
                    Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM shop.customers WHERE email = 'last@example.com'") == 1));
        }
        catch (AssertionError e) {
            cdc.destroyForcibly();
            throw new AssertionError(e.getMessage() + "\n" + Files.readString(log), e);
        }
        // The running daemon copies sequence values on its own (sequences.sync-interval-ms: 200).
        long lastCustomer = pipeline.sourceLong("SELECT last_value FROM shop.customers_id_seq");
        Pipeline.await("the daemon copied the identity sequence's value", Duration.ofSeconds(30),
                Pipeline.sql(() -> pipeline.shadowLong("SELECT last_value FROM shop.customers_id_seq") == lastCustomer));
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).as(Files.readString(log)).isZero();
        Pipeline.Outcome caughtUp = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(caughtUp.exitCode()).as(caughtUp.err()).isZero();
        assertSameDatabase();
        // The triggers that would have marked rows never fired on the shadow: its rows are the source's.
        assertThat(pipeline.shadowLong("SELECT count(*) FROM shop.orders WHERE note LIKE '%[touched by trigger]%'"))
                .isEqualTo(pipeline.sourceLong("SELECT count(*) FROM shop.orders WHERE note LIKE '%[touched by trigger]%'"));
    }

    @Test
    void aShadowSequenceIsNeverMovedBack() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        long source = pipeline.sourceLong("SELECT last_value FROM shop.invoice_no");
        // A migration tried on the shadow drew values of its own.
        pipeline.shadowLong("SELECT setval('shop.invoice_no', " + (source + 1000) + ")");
        pipeline.source("INSERT INTO shop.orders (customer_id, amount) VALUES (1000, 1)");

        assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();

        assertThat(pipeline.shadowLong("SELECT last_value FROM shop.invoice_no")).isEqualTo(source + 1000);
        assertThat(pipeline.shadowLong("SELECT last_value FROM shop.orders_id_seq"))
                .isEqualTo(pipeline.sourceLong("SELECT last_value FROM shop.orders_id_seq"));
    }

    private void assertSameDatabase() throws Exception {
        String source = SchemaDump.of(db.sourceServer(), db.name(), SCHEMAS);
        assertThat(source).contains("CREATE TRIGGER orders_touch", "ATTACH PARTITION shop.events_2024_click", "EXCLUDE USING gist");
        assertThat(SchemaDump.of(db.shadowServer(), db.name(), SCHEMAS)).isEqualTo(source);
        assertThat(sequences(db.shadow())).isEqualTo(sequences(db.source())).isNotEmpty();
        pipeline.assertShadowEqualsSource(TABLES);
    }

    private static List<String> sequences(Connection c) throws SQLException {
        List<String> out = new ArrayList<>();
        try (c; Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'not called') FROM pg_sequences
                WHERE schemaname IN ('shop', 'ledger') ORDER BY 1""")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /**
     * Transactions of every kind: new customers and orders (identity, serial and default sequence
     * values), updates, deletes that cascade on the source, events moving between partitions (a
     * key change), ledger entries, the procedure. Ends with a marker customer.
     */
    private void write(int transactions) throws SQLException {
        Random random = new Random(7);
        try (Connection c = db.source()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                for (int i = 0; i < transactions; i++) {
                    int n = random.nextInt(300);
                    switch (i % 8) {
                        case 0 -> st.execute("INSERT INTO shop.customers (email, name) VALUES ('w" + i + "@example.com', 'writer " + i + "')");
                        case 1 -> st.execute("INSERT INTO shop.orders (customer_id, amount, note) SELECT id, " + n + ", 'w' FROM shop.customers"
                                + " ORDER BY id DESC LIMIT 3");
                        case 2 -> st.execute("UPDATE shop.orders SET status = 'paid', amount = amount + 1 WHERE id % 300 = " + n);
                        case 3 -> st.execute("DELETE FROM shop.customers WHERE id = " + (1000 + 5 * n)
                                + " AND NOT EXISTS (SELECT 1 FROM shop.events WHERE customer_id = " + (1000 + 5 * n) + ")");
                        case 4 -> st.execute("UPDATE shop.events SET kind = 'click', at = at + 1 WHERE id % 500 = " + n);
                        case 5 -> st.execute("INSERT INTO ledger.entries (order_id, amount) SELECT max(id), " + n + " FROM shop.orders");
                        case 6 -> {
                            st.execute("UPDATE shop.tags SET label = label || '.' WHERE tag = 't" + (n % 200 + 1) + "'");
                            // citext keys compare without case: an update through another spelling of the key.
                            st.execute("UPDATE shop.coupons SET discount = " + (n % 100) + " WHERE code = 'CODE-" + (n + 1) + "'");
                            st.execute("INSERT INTO shop.coupons VALUES ('New-" + i + "', NULL, 5)");
                        }
                        default -> {
                            st.execute("CALL shop.archive(" + (300 + n) + ")");
                            st.execute("INSERT INTO shop.bookings VALUES (" + (1000 + i) + ", NULL, tsrange('2030-01-01', '2030-01-02'))");
                        }
                    }
                    c.commit();
                }
                st.execute("INSERT INTO shop.customers (email) VALUES ('last@example.com')");
                c.commit();
            }
        }
    }
}
