package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.SchemaDump;

/**
 * Schema changes made on the source while {@code cdc} streams under a writer reach the shadow:
 * with DDL capture (an event trigger writes each command into the WAL, applied in order with the
 * rows), and without it (the drift check, for the kinds it covers). Afterwards both sides'
 * {@code pg_dump --schema-only} are the same and every table holds the same rows.
 */
class SchemaFollowIT extends PipelineTest {

    private static final List<String> SCHEMAS = List.of("ddl", "ddl_parts");
    private static final String[] TABLES = {"ddl.items", "ddl.events"};

    private static final String SETUP = """
            CREATE SCHEMA ddl;
            CREATE SCHEMA ddl_parts;
            CREATE TABLE ddl.items (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 0, note text, price numeric(10,2),
                                    CONSTRAINT items_name_len CHECK (length(name) < 100));
            CREATE INDEX items_qty_idx ON ddl.items (qty);
            CREATE INDEX items_note_idx ON ddl.items (note);
            CREATE TABLE ddl.events (id bigint NOT NULL, at date NOT NULL, payload text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
            CREATE TABLE ddl_parts.events_2024 PARTITION OF ddl.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE TABLE ddl_parts.events_2025 PARTITION OF ddl.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
            CREATE FUNCTION ddl.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.qty := coalesce(NEW.qty, 0); RETURN NEW; END$$;
            CREATE TRIGGER items_touch BEFORE INSERT ON ddl.items FOR EACH ROW EXECUTE FUNCTION ddl.touch();
            CREATE VIEW ddl.big_items AS SELECT id, name FROM ddl.items WHERE qty > 10;
            INSERT INTO ddl.items SELECT g, 'item ' || g, g % 50, 'n' || g, g * 1.5 FROM generate_series(1, 2000) g;
            INSERT INTO ddl.events SELECT g, DATE '2024-01-01' + g % 700, 'p' || g FROM generate_series(1, 3000) g;
            """;

    // What the drift check follows too: objects that touch no row.
    private static final List<String> BOTH_WAYS = List.of(
            "CREATE INDEX items_name_idx ON ddl.items (name)",
            "DROP INDEX ddl.items_qty_idx",
            "ALTER TABLE ddl.items ADD CONSTRAINT items_qty_positive CHECK (qty >= 0) NOT VALID",
            "ALTER TABLE ddl.items VALIDATE CONSTRAINT items_qty_positive",
            "ALTER TABLE ddl.items DROP CONSTRAINT items_name_len",
            "ALTER TABLE ddl.items ALTER COLUMN note SET DEFAULT 'none'",
            "ALTER TABLE ddl.items ALTER COLUMN qty DROP DEFAULT",
            "ALTER INDEX ddl.items_note_idx RENAME TO items_note_lookup",
            "CREATE TABLE ddl_parts.events_2026 PARTITION OF ddl.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
            "ALTER TABLE ddl.events DETACH PARTITION ddl_parts.events_2024",
            "CREATE OR REPLACE VIEW ddl.big_items AS SELECT id, name, qty FROM ddl.items WHERE qty > 20",
            "CREATE OR REPLACE FUNCTION ddl.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.qty := coalesce(NEW.qty, 1); RETURN NEW; END$$",
            "CREATE OR REPLACE TRIGGER items_touch BEFORE INSERT OR UPDATE ON ddl.items FOR EACH ROW EXECUTE FUNCTION ddl.touch()",
            "COMMENT ON TABLE ddl.items IS 'things we sell'",
            "COMMENT ON COLUMN ddl.items.price IS 'in cents'");

    // Only captured DDL follows these in order with the rows: they change how rows are stored.
    private static final List<String> CAPTURED_ONLY = List.of(
            "ALTER TABLE ddl.items ALTER COLUMN qty SET NOT NULL",
            "ALTER TABLE ddl.items ALTER COLUMN name DROP NOT NULL",
            "ALTER TABLE ddl.items ALTER COLUMN price TYPE text USING 'EUR ' || price",
            "ALTER TABLE ddl.items RENAME COLUMN note TO remark");

    private void setUp(boolean capture) throws Exception {
        db = PgPair.get().newDatabases(capture ? "ddl_cap_it" : "ddl_drift_it");
        pipeline = new Pipeline(db, dir, List.of("ddl.*"), "batch: {max-rows: 200, max-delay-ms: 20}\n"
                + "schema: {capture-ddl: " + capture + ", check-interval-ms: " + (capture ? 60000 : 300) + "}\n");
        pipeline.source(SETUP);
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
    }

    @ParameterizedTest(name = "capture-ddl: {0}")
    @ValueSource(booleans = {true, false})
    @Timeout(300)
    void schemaChangesWhileStreamingUnderAWriterLeaveTheSameSchemaAndRows(boolean capture) throws Exception {
        setUp(capture);
        Path log = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(log, "cdc");
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicReference<Throwable> writerFailed = new AtomicReference<>();
        Thread writer = new Thread(() -> write(writing, writerFailed), "writer");
        try {
            pipeline.awaitStreaming();
            writer.start();
            for (String ddl : BOTH_WAYS) {
                pipeline.source(ddl);
                Thread.sleep(50);
            }
            // The table's owner, not a superuser, runs DDL: captured all the same (its owner and
            // grants are the source's own and not followed).
            String role = "scry_ddl_" + db.name();
            pipeline.source("CREATE ROLE " + role, "GRANT USAGE, CREATE ON SCHEMA ddl TO " + role, "ALTER TABLE ddl.items OWNER TO " + role);
            pipeline.source("SET ROLE " + role, "CREATE INDEX items_by_role ON ddl.items (id, qty)", "RESET ROLE",
                    "ALTER TABLE ddl.items OWNER TO CURRENT_USER", "REVOKE USAGE, CREATE ON SCHEMA ddl FROM " + role, "DROP ROLE " + role);
            if (capture) {
                // A migration as one query string (simple protocol), and DDL between rows of one transaction.
                simpleQuery(String.join(";\n", CAPTURED_ONLY.subList(0, 2)) + ";\nINSERT INTO ddl.items VALUES (-1, 'mid', 5);");
                pipeline.source("BEGIN", "UPDATE ddl.items SET price = 7 WHERE id = 3", CAPTURED_ONLY.get(2),
                        "UPDATE ddl.items SET price = 'EUR 8' WHERE id = 4", "COMMIT");
                pipeline.source(CAPTURED_ONLY.get(3), "UPDATE ddl.items SET remark = 'renamed' WHERE id = 5");
                // Anyone may write a logical message: one not signed by the trigger is never run on the shadow.
                pipeline.source("SELECT pg_logical_emit_message(true, 'scry_backfill.ddl', repeat('0', 64) || '{\"tag\":\"CREATE INDEX\","
                        + "\"query\":\"CREATE INDEX forged ON ddl.items (name)\",\"tags\":[\"CREATE INDEX\"],\"search_path\":\"\","
                        + "\"objects\":[{\"type\":\"index\",\"rel_schema\":\"ddl\",\"rel_name\":\"items\"}]}')");
            }
            // Rows for the new partition once the shadow has it (at once with capture; by the drift check without).
            Pipeline.await("the shadow has the new partition", Duration.ofSeconds(60),
                    Pipeline.sql(() -> pipeline.shadowLong("SELECT count(*) FROM pg_class WHERE relname = 'events_2026' AND relispartition") == 1));
            pipeline.source("INSERT INTO ddl.events SELECT g, DATE '2026-03-01' + g % 100, 'new' FROM generate_series(1, 300) g");
            writing.set(false);
            writer.join(30_000);
            assertThat(writerFailed.get()).isNull();
            String source = SchemaDump.of(db.sourceServer(), db.name(), SCHEMAS);
            assertThat(source).contains("items_by_role", "items_name_idx", "items_qty_positive", "events_2026", "items_note_lookup", "things we sell");
            try {
                Pipeline.await("the shadow's schema is the source's", Duration.ofSeconds(90), () -> {
                    try {
                        return SchemaDump.of(db.shadowServer(), db.name(), SCHEMAS).equals(source);
                    }
                    catch (Exception e) {
                        return false;
                    }
                });
            }
            catch (AssertionError e) {
                assertThat(SchemaDump.of(db.shadowServer(), db.name(), SCHEMAS)).as(Files.readString(log)).isEqualTo(source);
            }
            assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_class WHERE relname = 'forged'")).isZero();
            cdc.destroy();
            assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).as(Files.readString(log)).isZero();
        }
        finally {
            writing.set(false);
            cdc.destroyForcibly();
        }
        Pipeline.Outcome caughtUp = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(caughtUp.exitCode()).as(caughtUp.err()).isZero();
        pipeline.assertShadowEqualsSource(TABLES);
        if (capture) {
            assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE id = 5 AND remark = 'renamed'")).isEqualTo(1);
            assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE id = 4 AND price = 'EUR 8'")).isEqualTo(1);
            assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE id = 3 AND price = 'EUR 7.00'")).isEqualTo(1);
        }
        Pipeline.Outcome schema = pipeline.run("verify", "--schema");
        assertThat(schema.exitCode()).as(schema.out() + schema.err()).isZero();
        assertThat(schema.out()).contains("equal");
    }

    @Test
    void aPartitionMadeWhileCdcWasStoppedIsOnTheShadowBeforeItsRowsStream() throws Exception {
        setUp(false);
        assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();
        pipeline.source("CREATE TABLE ddl_parts.events_2026 PARTITION OF ddl.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
                "INSERT INTO ddl.events VALUES (100000, DATE '2026-03-01', 'while stopped')");

        // The drift check at start makes the partition before streaming: its row is next in the stream.
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl_parts.events_2026 WHERE payload = 'while stopped'")).isEqualTo(1);
    }

    @Test
    void aSchemaChangeAfterDeletesInItsBatchRunsUnderTheSessionsOwnJoinSettings() throws Exception {
        setUp(true);
        assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();
        // The batch's deletes by key turn hash and merge joins off for its transaction; the captured
        // schema change after them must run as the source ran it, with the settings given back.
        // This default is worked out once, as the column is added, and stored for every row.
        pipeline.source("BEGIN", "DELETE FROM ddl.items WHERE id > 1900",
                "ALTER TABLE ddl.items ADD COLUMN planner text DEFAULT current_setting('enable_hashjoin')", "COMMIT");

        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE planner = 'on'")).isEqualTo(1900);
        pipeline.assertShadowEqualsSource(TABLES);
    }

    @Test
    void aSchemaChangeTheShadowCannotFollowStopsBeforeItAndResumeGoesOnOnceTheOperatorRanIt() throws Exception {
        setUp(true);
        assertThat(pipeline.run("cdc", "--exit-when-caught-up").exitCode()).isZero();
        // The function is in a schema the pipeline does not copy: the shadow cannot run the USING clause.
        pipeline.source("CREATE SCHEMA helpers", "CREATE FUNCTION helpers.cents(numeric) RETURNS bigint LANGUAGE sql AS 'SELECT ($1 * 100)::bigint'");
        pipeline.source("UPDATE ddl.items SET name = 'before' WHERE id = 1");
        pipeline.source("BEGIN", "UPDATE ddl.items SET name = 'same transaction' WHERE id = 2",
                "ALTER TABLE ddl.items ALTER COLUMN price TYPE bigint USING helpers.cents(price)", "UPDATE ddl.items SET price = 1000 WHERE id = 3",
                "COMMIT");
        pipeline.source("UPDATE ddl.items SET name = 'after' WHERE id = 4");

        Pipeline.Outcome stopped = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(stopped.exitCode()).isEqualTo(1);
        assertThat(stopped.err()).contains("cannot follow the schema change").contains("schema \"helpers\" does not exist")
                .contains("SET search_path = ").contains("ALTER TABLE ddl.items ALTER COLUMN price TYPE bigint USING helpers.cents(price);")
                .contains("`resume`");
        // The checkpoint is right before the change: what its transaction wrote before it is on the shadow, nothing after it.
        assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE name = 'after' OR price = 1000")).isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE id = 1 AND name = 'before'")).isEqualTo(1);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE id = 2 AND name = 'same transaction'")).isEqualTo(1);
        assertThat(pipeline.run("status").out()).contains("could not be applied").contains("helpers.cents(price)");

        // The operator makes the shadow's column the source's by other means.
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ddl.items ALTER COLUMN price TYPE bigint USING (price * 100)::bigint");
        }
        Pipeline.Outcome resumed = pipeline.run("resume", "--exit-when-caught-up");

        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        pipeline.assertShadowEqualsSource(TABLES);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM ddl.items WHERE name IN ('same transaction', 'after') OR price = 1000"))
                .isEqualTo(3);
        assertThat(pipeline.run("verify", "--schema").exitCode()).isZero();
        assertThat(pipeline.run("status").out()).doesNotContain("could not be applied");
    }

    @Test
    void verifySchemaListsWhatIsMissingExtraOrDifferentOnTheShadow() throws Exception {
        setUp(false);
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("DROP INDEX ddl.items_qty_idx");
            st.execute("ALTER TABLE ddl.items ADD CONSTRAINT shadow_check CHECK (id > -100)");
            st.execute("CREATE OR REPLACE VIEW ddl.big_items AS SELECT id, name FROM ddl.items WHERE qty > 11");
        }

        Pipeline.Outcome differs = pipeline.run("verify", "--schema");

        assertThat(differs.exitCode()).as(differs.err()).isEqualTo(3);
        assertThat(differs.out()).contains("3 object(s) differ").containsPattern("missing +INDEX ddl.items_qty_idx")
                .containsPattern("extra +CONSTRAINT ddl.items.\"?shadow_check").containsPattern("different +VIEW ddl.big_items")
                .contains("qty > 11").contains("qty > 10");
        Pipeline.Outcome json = pipeline.run("verify", "--schema", "--json");
        assertThat(json.exitCode()).isEqualTo(3);
        assertThat(json.out()).contains("\"equal\" : false").contains("\"difference\" : \"extra\"");

        // The daemon's drift check (capture off) makes what the source has the source's again, and
        // leaves what only the shadow ever had (someone's migration being tried there), reporting it.
        Path log = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(log, "cdc");
        try {
            // status reports the check's outcome once it is recorded, after the repairs.
            Pipeline.await("the drift check restored the index and the view", Duration.ofSeconds(60),
                    () -> pipeline.run("status").out().contains("1 object(s) differ"));
        }
        finally {
            cdc.destroy();
            Pipeline.waitFor(cdc, Duration.ofSeconds(60));
        }
        assertThat(pipeline.run("status").out()).containsPattern("shadow_check\"? extra on the shadow");
        Pipeline.Outcome left = pipeline.run("verify", "--schema");
        assertThat(left.exitCode()).isEqualTo(3);
        assertThat(left.out()).contains("1 object(s) differ").containsPattern("extra +CONSTRAINT ddl.items.\"?shadow_check");
    }

    /** Inserts and updates rows of both tables until told to stop; never touches what the DDL renames or retypes. */
    private void write(AtomicBoolean writing, AtomicReference<Throwable> failed) {
        try (Connection c = db.source();
             PreparedStatement insert = c.prepareStatement("INSERT INTO ddl.items (id, name, qty) VALUES (?, ?, ?)");
             PreparedStatement update = c.prepareStatement("UPDATE ddl.items SET qty = qty + 1 WHERE id = ?");
             PreparedStatement event = c.prepareStatement("INSERT INTO ddl.events VALUES (?, DATE '2025-01-01' + ?, 'w')")) {
            int n = 10_000;
            while (writing.get()) {
                n++;
                insert.setInt(1, n);
                insert.setString(2, "w" + n);
                insert.setInt(3, n % 30);
                insert.executeUpdate();
                update.setInt(1, 1 + n % 2000);
                update.executeUpdate();
                event.setLong(1, n);
                event.setInt(2, n % 300);
                event.executeUpdate();
                Thread.sleep(5);
            }
        }
        catch (Throwable t) {
            failed.set(t);
        }
    }

    private void simpleQuery(String sql) throws SQLException {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", db.sourceServer().user());
        p.setProperty("password", db.sourceServer().password());
        p.setProperty("preferQueryMode", "simple");
        try (Connection c = java.sql.DriverManager.getConnection(db.sourceServer().url(db.name()), p); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
