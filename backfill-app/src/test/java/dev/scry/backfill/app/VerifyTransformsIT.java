package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.testing.PgPair;

/**
 * `verify` compares transformed tables through their transforms: the source computes what the
 * shadow should hold, in SQL where every transform has an SQL form the source can compute
 * (pgcrypto's hmac for the hash), otherwise with the pipeline's transforms in process (a row
 * filter; a hash where the source lacks pgcrypto). A custom transform without a source-side form
 * makes its table "not comparable", named.
 */
class VerifyTransformsIT extends PipelineTest {

    private static final String TRANSFORMS = """
            transforms:
              - {type: drop-columns, columns: [public.people.note]}
              - {type: hash, columns: [public.people.email, public.codes.code], key: 'k3y ✓'}
              - {type: redact, columns: [public.people.ssn], value: '000'}
              - {type: mask, columns: [public.people.card], keep-last: 4}
              - {type: generalize, columns: [public.people.salary], bucket: 0.5}
              - {type: generalize, columns: [public.people.born], truncate: month}
              - {type: generalize, columns: [public.people.seen], truncate: day}
              - {type: generalize, columns: [public.people.score], bucket: 1000}
              - {type: filter-rows, table: public.orders, where: "kind == 'buy' || amount < 10"}
              - {type: reverse, columns: [public.notes.body]}
            """;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("verify_transforms_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto");
            st.execute("""
                    CREATE TABLE people (id int PRIMARY KEY, email text, ssn numeric(6,0), card text, salary numeric(10,2), born date,
                                         seen timestamptz, score float8, note text, flag bool)""");
            st.execute("""
                    INSERT INTO people SELECT g, CASE WHEN g % 9 = 0 THEN NULL ELSE 'p' || g || '@example.com' END, g % 999,
                                              CASE WHEN g % 7 = 0 THEN '' ELSE '4111 1111 1111 ' || lpad(g::text, 4, '0') || ' ✓' END,
                                              g * 13.37 - 500, date '1999-12-31' + g * 3 - 3000,
                                              timestamptz '2024-03-10 23:30:00+00' + g * interval '5 hours 7 minutes',
                                              CASE WHEN g % 50 = 0 THEN 'NaN' WHEN g % 51 = 0 THEN '-Infinity' ELSE g * 1234.5678e3 END,
                                              'private', g % 2 = 0
                    FROM generate_series(1, 2000) g""");
            st.execute("CREATE TABLE codes (code text PRIMARY KEY, n int)");
            st.execute("INSERT INTO codes SELECT 'c' || g, g FROM generate_series(1, 500) g");
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, kind text, amount numeric)");
            st.execute("INSERT INTO orders SELECT g, (ARRAY['buy', 'sell', 'hold'])[g % 3 + 1], g % 20 FROM generate_series(1, 600) g");
            st.execute("INSERT INTO orders VALUES (601, 'sell', NULL)");
            st.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)");
            st.execute("INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g");
        }
        pipeline = new Pipeline(db, dir, List.of("public.people", "public.codes", "public.orders", "public.notes"), TRANSFORMS);
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
    }

    @Test
    void transformedTablesCompareEqualThroughTheirTransforms() throws Exception {
        Pipeline.Outcome verify = pipeline.run("verify", "--json");

        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
        JsonNode tables = new ObjectMapper().readTree(verify.out()).get("tables");
        assertThat(tables.get(0).get("status").asText()).as("people").isEqualTo("equal");
        assertThat(tables.get(0).get("compared").asText()).isEqualTo("transforms in SQL on the source");
        assertThat(tables.get(0).get("source_rows").asLong()).isEqualTo(2000);
        assertThat(tables.get(1).get("compared").asText()).as("codes: a hashed key").isEqualTo("transforms in SQL on the source");
        assertThat(tables.get(2).get("status").asText()).as("orders").isEqualTo("equal");
        assertThat(tables.get(2).get("compared").asText()).isEqualTo("transforms in process");
        assertThat(tables.get(2).get("source_rows").asLong()).as("rows the filter keeps").isEqualTo(pipeline.shadowLong("SELECT count(*) FROM orders"));
        assertThat(tables.get(3).get("status").asText()).as("notes").isEqualTo("not compared");
        assertThat(tables.get(3).get("reason").asText()).contains("not comparable", "transforms[9] (reverse)");
    }

    @Test
    void aChangedRowOfATransformedTableIsFoundInSqlAndInProcess() throws Exception {
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("UPDATE people SET born = '1900-01-01' WHERE id = 77");
            st.execute("UPDATE orders SET amount = 99 WHERE id = 3");
            st.execute("DELETE FROM codes WHERE n = 5");
        }

        Pipeline.Outcome verify = pipeline.run("verify");

        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isEqualTo(3);
        assertThat(verify.out()).contains("changed (id)=(77)", "changed (id)=(3)", "missing (code)=(").contains("DIFFERENT: 3 of 4");
    }

    @Test
    void withoutPgcryptoOnTheSourceTheHashIsComputedInProcess() throws Exception {
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("DROP EXTENSION pgcrypto");
        }
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("UPDATE people SET card = 'x' WHERE id = 1500");
        }

        Pipeline.Outcome verify = pipeline.run("verify", "--json");

        JsonNode tables = new ObjectMapper().readTree(verify.out()).get("tables");
        assertThat(tables.get(0).get("compared").asText()).isEqualTo("transforms in process");
        assertThat(tables.get(0).get("differences").toString()).contains("(id)=(1500)");
        assertThat(tables.get(0).get("differences").size()).isEqualTo(1);
        assertThat(tables.get(1).get("status").asText()).as("codes, in process too").isEqualTo("equal");
    }
}
