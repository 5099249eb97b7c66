package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/**
 * One column of every supported type ({@link EveryType}: with domains over the types our converters
 * handle, enums, arrays of them, names that need quoting) and edge-case values, carried by the
 * stream alone and by snapshot then stream: {@code row::text} equal byte for byte, and the shadow's column types,
 * domains and enums defined as on the source.
 */
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class TypesIT extends PipelineTest {

    @Parameter
    Pipeline.Reader reader;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("types_it");
        pipeline = new Pipeline(db, dir, List.of(EveryType.TABLE), "batch: {max-rows: 10, max-delay-ms: 20}\n").streamingWith(reader);
        pipeline.source(EveryType.schema());
    }

    @Test
    void everyValueArrivesExactlyThroughTheStream() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        EveryType.assertSameTypes(db);

        pipeline.source(EveryType.inserts());
        pipeline.source(EveryType.changes());
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        EveryType.assertSameText(db, pipeline);
        pipeline.assertVerifyEqual();
        assertThat(pipeline.shadowLong("SELECT length(t) FROM every_type WHERE id = 104")).isEqualTo(21_000_000);
        assertThat(pipeline.shadowLong("SELECT length(dvb) FROM every_type WHERE id = 4")).isEqualTo(200_000);
    }

    @Test
    void everyValueSurvivesSnapshotAndEveryKindOfChange() throws Exception {
        pipeline.source(EveryType.inserts());
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        EveryType.assertSameText(db, pipeline);

        pipeline.source(EveryType.changes());
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        EveryType.assertSameText(db, pipeline);
        pipeline.assertVerifyEqual();
        assertThat(pipeline.shadowLong("SELECT length(t) FROM every_type WHERE id = 4")).isEqualTo(21_000_000);
    }

    @Test
    void shadowEnumGainsTheSourcesNewLabelsInTheSourcesOrder() throws Exception {
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("CREATE TYPE \"Mood\" AS ENUM ('ok')");
        }
        pipeline.source("ALTER TYPE \"Mood\" ADD VALUE 'awful' BEFORE 'sad'", "ALTER TYPE \"Mood\" ADD VALUE 'elated'",
                "INSERT INTO every_type (id, mood, mood_a) VALUES (1, 'awful', '{elated,sad,ok,happy}')");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        String labels = "SELECT enum_range(NULL::\"Mood\")::text";
        try (Connection s = db.source(); Connection h = db.shadow(); Statement a = s.createStatement(); Statement b = h.createStatement();
             ResultSet ra = a.executeQuery(labels); ResultSet rb = b.executeQuery(labels)) {
            ra.next();
            rb.next();
            assertThat(rb.getString(1)).isEqualTo(ra.getString(1)).isEqualTo("{awful,sad,ok,happy,elated}");
        }
        EveryType.assertSameText(db, pipeline);
    }

    @Test
    void whatTheDebeziumReaderCouldNotCarryArrivesExactly() throws Exception {
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        // A timetz keeps its offset, a domain over an enum exists, the table's name begins and ends
        // with a double quote, timestamps at the ends of PostgreSQL's range.
        String table = "public.\"\"\"edged\"\"\"";
        pipeline.source("CREATE DOMAIN \"ty pes\".\"Mood d\" AS \"Mood\"",
                "CREATE TABLE " + table + " (id int PRIMARY KEY, at timetz, feel \"ty pes\".\"Mood d\", far timestamp)",
                "INSERT INTO " + table + " VALUES (1, '10:00:00+02', 'ok', '294276-12-31 23:59:59.999999'),"
                        + " (2, '23:59:59.999999-15:59', NULL, '4713-01-01 00:00:00 BC'), (3, '24:00:00+14', 'sad', NULL)");
        pipeline.writeConfig(List.of(table), "");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();

        pipeline.source("INSERT INTO " + table + " VALUES (4, '00:00:00.000001-00:30', 'happy', '294276-12-31 23:59:59.999999')",
                "UPDATE " + table + " SET at = at + interval '1 minute', feel = 'sad' WHERE id = 1", "DELETE FROM " + table + " WHERE id = 2");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        String rows = "SELECT id || ' ' || at::text || ' ' || coalesce(feel::text, '-') || ' ' || coalesce(far::text, '-') FROM "
                + table + " ORDER BY id";
        assertThat(EveryType.query(db.shadow(), rows)).isEqualTo(EveryType.query(db.source(), rows)).containsExactly(
                "1 10:01:00+02 sad 294276-12-31 23:59:59.999999", "3 24:00:00+14 sad -", "4 00:00:00.000001-00:30 happy 294276-12-31 23:59:59.999999");
        pipeline.assertShadowEqualsSource(table);
    }

    @Test
    void theDebeziumReaderRefusesWhatItCannotCarryNamingIt() throws Exception {
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        pipeline.source("CREATE TABLE with_tz (id int PRIMARY KEY, at timetz)");
        pipeline.writeConfig(List.of("public.with_tz"), "snapshot: {method: debezium}\n");
        Pipeline.Outcome refused = pipeline.run("snapshot");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("table public.with_tz column at", "drops its offset");
        assertThat(refused.err().strip().lines()).hasSize(1);

        pipeline.source("CREATE DOMAIN \"ty pes\".\"Mood d\" AS \"Mood\"");
        pipeline.writeConfig(List.of("public.every_type"), "snapshot: {method: debezium}\n");
        refused = pipeline.run("snapshot");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("domain \"ty pes\".\"Mood d\" over the enum \"Mood\"");
    }
}
