package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/**
 * One column of every supported type (with domains over the types our converters handle, enums,
 * arrays of them, names that need quoting) and edge-case values, carried by the stream alone and
 * by snapshot then stream: {@code row::text} equal byte for byte, and the shadow's column types,
 * domains and enums defined as on the source.
 */
class TypesIT extends PipelineTest {

    private static final String TYPES = """
            CREATE TYPE "Mood" AS ENUM ('sad', 'ok', 'happy');
            CREATE SCHEMA "ty pes";
            CREATE TYPE "ty pes"."we""ird, enum" AS ENUM ('it''s', 'a, b', '"q"', '{x}', 'ünï');
            CREATE DOMAIN positive AS int CHECK (VALUE > 0);
            CREATE DOMAIN int_list AS int[] CHECK (cardinality(VALUE) < 1000000);
            CREATE DOMAIN "ty pes"."dom ""vb""\" AS varbit CONSTRAINT "short enough" CHECK (length(VALUE) < 1000000);
            CREATE DOMAIN cash AS money CHECK (VALUE <> '13.00');
            CREATE DOMAIN place AS point;
            CREATE DOMAIN span AS int8range CHECK (lower(VALUE) IS DISTINCT FROM 13);
            CREATE DOMAIN day AS date CHECK (VALUE <> '1999-12-31');
            CREATE DOMAIN code AS varchar(8) COLLATE "C" DEFAULT 'none' NOT NULL CHECK (VALUE <> '');
            ALTER DOMAIN code ADD CONSTRAINT "not x" CHECK (VALUE <> 'x') NOT VALID;
            """;

    // Column name, then declared type; "id" is the key.
    private static final String[][] COLUMNS = {
        {"i2", "smallint"}, {"i4", "integer"}, {"i8", "bigint"}, {"n", "numeric"}, {"n122", "numeric(12,2)"}, {"r", "real"},
        {"d", "double precision"}, {"b", "boolean"}, {"t", "text"}, {"vc", "varchar(12)"}, {"ch", "char(5)"}, {"by", "bytea"},
        {"dt", "date"}, {"tm", "time"}, {"ts", "timestamp"}, {"tstz", "timestamptz"}, {"iv", "interval"}, {"u", "uuid"},
        {"js", "json"}, {"jb", "jsonb"}, {"a1", "int[]"}, {"a2", "text[][]"}, {"n2", "numeric[][]"}, {"mood", "\"Mood\""},
        {"mood_a", "\"Mood\"[]"}, {"odd", "\"ty pes\".\"we\"\"ird, enum\""}, {"odd_a", "\"ty pes\".\"we\"\"ird, enum\"[]"},
{"pos", "positive"}, {"pos_a", "positive[]"}, {"il", "int_list"}, {"ip", "inet"},
        {"net", "cidr"}, {"mac", "macaddr"}, {"mac8", "macaddr8"}, {"bits", "bit(5)"}, {"vb", "varbit(16)"},
        {"dvb", "\"ty pes\".\"dom \"\"vb\"\"\""}, {"vb_a", "varbit[]"}, {"x", "xml"}, {"m", "money"}, {"dm", "cash"},
        {"m_a", "money[]"}, {"ir", "int4range"}, {"i8r", "int8range"}, {"nr", "numrange"}, {"dr", "daterange"},
        {"tsr", "tsrange"}, {"tr", "tstzrange"}, {"drng", "span"}, {"r_a", "numrange[]"}, {"p", "point"}, {"dp", "place"},
        {"p_a", "point[]"}, {"ddt", "day"}, {"code", "code"}, {"ttz_a", "timetz[]"},
    };

    /** Rows as column → SQL expression; columns left out take their default (NULL, or the domain's). */
    private static final List<Map<String, String>> ROWS = List.of(
            row("id", "1", "i2", "-32768", "i4", "-2147483648", "i8", "-9223372036854775808", "n", "'NaN'", "n122", "-9999999999.99",
                    "r", "'NaN'", "d", "'-Infinity'", "b", "true", "t", "''", "vc", "''", "ch", "'a'", "by", "'\\x00ff00'::bytea",
                    "dt", "'4713-01-01 BC'", "tm", "'24:00:00'", "ts", "'infinity'", "tstz", "'-infinity'", "iv", "'-178000000 years'",
                    "u", "'00000000-0000-0000-0000-000000000000'", "js", "'{\"b\":1,  \"a\" : [1, 2]}'", "jb", "'{\"z\": null}'",
                    "a1", "'{1,NULL,3}'", "a2", "'{{a,NULL},{\"q\\\"uote\",\"\"}}'", "n2", "'{{NaN,NULL},{1.5,-0.000001}}'",
                    "mood", "'sad'", "mood_a", "'{happy,NULL}'", "odd", "'it''s'", "odd_a", "'{\"a, b\",NULL,\"\\\"q\\\"\",\"{x}\"}'",
                    "pos", "1", "pos_a", "'{1,NULL}'", "il", "'{}'", "ip", "'::1'", "net", "'10.0.0.0/8'",
                    "mac", "'08:00:2b:01:02:03'", "mac8", "'08:00:2b:01:02:03:04:05'", "bits", "B'00000'", "vb", "B'1000'",
                    "dvb", "B''", "vb_a", "'{1010,NULL,\"\"}'", "x", "'<a>x</a>'", "m", "'-92233720368547758.08'",
                    "dm", "'-92233720368547758.08'", "m_a", "'{-1.50,NULL}'", "ir", "'empty'", "i8r", "'(,)'", "nr", "'(,)'",
                    "dr", "'[,2024-01-01)'", "tsr", "'[2024-01-01 10:00:00.123456,infinity)'", "tr", "'[2024-01-01 00:00+00,)'",
                    "drng", "'empty'", "r_a", "'{empty,\"[1,2)\",NULL}'", "p", "'(-1.5,1e-300)'", "dp", "'(-0,-1.25)'",
                    "p_a", "'{\"(1,2)\",NULL}'", "ddt", "'4713-01-01 BC'", "code", "'a'", "ttz_a", "'{10:00:00+02,NULL}'"),
            row("id", "2", "i2", "32767", "i4", "2147483647", "i8", "9223372036854775807",
                    "n", "'123456789012345678901234567890.123456789012345678901234567890'", "n122", "0.01", "r", "'Infinity'",
                    "d", "1e-320", "b", "false", "t", "'ünïcødé ✓ \\ tab\t'", "vc", "'twelve chars'", "ch", "'ab'", "by", "''::bytea",
                    "dt", "'2024-02-29'", "tm", "'00:00:00.000001'", "ts", "'1582-10-10 12:00:00.123456'",
                    "tstz", "'2024-06-30 23:59:59.999999+05:30'", "iv", "'1 year 2 mons 3 days 04:05:06.789'",
                    "u", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "js", "'[]'", "jb", "'[1, \"x\", {\"k\": [true]}]'", "a1", "'{}'",
                    "a2", "'{}'", "n2", "'{{1}}'", "mood", "'happy'", "mood_a", "'{}'", "odd", "'{x}'", "odd_a", "'{}'", 
                    "pos", "2147483647", "pos_a", "'{2147483647}'", "il", "'{1,NULL,3}'", "ip", "'2001:db8::1/64'", "net", "'::/0'",
                    "mac", "'ff:ff:ff:ff:ff:ff'", "mac8", "'ff:ff:ff:ff:ff:ff:ff:ff'", "bits", "B'11111'", "vb", "B'0101010000000000'",
                    "dvb", "B'1000000000000000000000'", "vb_a", "'{}'", "x", "''", "m", "'92233720368547758.07'", "dm", "'0'",
                    "m_a", "'{}'", "ir", "'[1,10)'", "i8r", "'[-9223372036854775808,9223372036854775807)'", "nr", "'[0.5,1.5]'",
                    "dr", "'[2024-01-01,2024-12-31]'", "tsr", "'empty'", "tr", "'empty'", "drng", "'(,5]'", "r_a", "'{}'",
                    "p", "'(1.7976931348623157e308,-0)'", "dp", "'(1e-300,1.7976931348623157e308)'", "p_a", "'{}'", "ddt", "'infinity'",
                    "code", "'ünïcødé!'", "ttz_a", "'{}'"),
            // Only the key: every other column NULL, and code its domain's default.
            row("id", "3"),
            // Large values (TOASTed), left unchanged by later updates of other columns.
            row("id", "4", "t", "repeat('large ', 3500000)", "by", "decode(repeat('00ff', 2500000), 'hex')",
                    "jb", "(SELECT jsonb_agg(g) FROM generate_series(1, 100000) g)",
                    "dvb", "(SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '') FROM generate_series(1, 200000))::varbit",
                    "a1", "(SELECT array_agg((random() * 2e9)::int) FROM generate_series(1, 100000))",
                    "code", "'big'"),
            row("id", "5", "ts", "'0044-03-15 12:00:00.5 BC'", "tstz", "'0044-03-15 12:00:00+00 BC'", "dt", "'-infinity'", "d", "'-0'",
                    "r", "'-Infinity'", "n", "('-0.' || repeat('0', 500) || '1')::numeric", "n122", "'NaN'", "ddt", "'-infinity'",
                    "vb", "B'10000000'", "dvb", "B'0100'", "bits", "B'10000'", "tm", "'23:59:59.999999'", "dm", "'-0.01'",
                    "i8r", "'[5,6)'", "code", "'zzz'", "ttz_a", "'{{00:00:00-14:59,24:00:00+14:59},{NULL,12:34:56.789012+05:30}}'"));

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("types_it");
        String columns = "id int PRIMARY KEY, " + List.of(COLUMNS).stream()
                .map(c -> "\"" + c[0] + "\" " + c[1]).collect(Collectors.joining(", "));
        pipeline = new Pipeline(db, dir, List.of("public.every_type"), "batch: {max-rows: 10, max-delay-ms: 20}\n");
        pipeline.source(TYPES, "CREATE TABLE every_type (" + columns + ")");
    }

    @Test
    void everyValueArrivesExactlyThroughTheStream() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertSameTypes();

        pipeline.source(inserts());
        pipeline.source(changes());
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertSameText();
        pipeline.assertVerifyEqual();
        assertThat(pipeline.shadowLong("SELECT length(t) FROM every_type WHERE id = 104")).isEqualTo(21_000_000);
        assertThat(pipeline.shadowLong("SELECT length(dvb) FROM every_type WHERE id = 4")).isEqualTo(200_000);
    }

    @Test
    void everyValueSurvivesSnapshotAndEveryKindOfChange() throws Exception {
        pipeline.source(inserts());
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertSameText();

        pipeline.source(changes());
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertSameText();
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
        assertSameText();
    }

    @Test
    void whatTheDebeziumReaderCouldNotCarryArrivesExactly() throws Exception {
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
        assertThat(query(db.shadow(), rows)).isEqualTo(query(db.source(), rows)).containsExactly(
                "1 10:01:00+02 sad 294276-12-31 23:59:59.999999", "3 24:00:00+14 sad -", "4 00:00:00.000001-00:30 happy 294276-12-31 23:59:59.999999");
        pipeline.assertShadowEqualsSource(table);
    }

    @Test
    void theDebeziumReaderRefusesWhatItCannotCarryNamingIt() throws Exception {
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

    private static String[] inserts() {
        return ROWS.stream().map(r -> "INSERT INTO every_type (" + r.keySet().stream().map(c -> "\"" + c + "\"").collect(Collectors.joining(", "))
                + ") VALUES (" + String.join(", ", r.values()) + ")").toArray(String[]::new);
    }

    /** Inserts, updates of some columns (the large ones stay TOASTed and unchanged), updates of every column, deletes. */
    private static String[] changes() {
        String all = List.of(COLUMNS).stream().map(c -> "\"" + c[0] + "\"").collect(Collectors.joining(", "));
        String old = List.of(COLUMNS).stream().map(c -> "o.\"" + c[0] + "\"").collect(Collectors.joining(", "));
        return new String[] {
            "UPDATE every_type SET i2 = 1, vb = B'1', m = 0.01, dm = '-0.10', drng = '[1,2)' WHERE id = 4",
            // Every row again, the large one included in full.
            "INSERT INTO every_type SELECT id + 100, " + all + " FROM every_type",
            "UPDATE every_type SET code = 'upd', p = '(0.1,0.2)' WHERE id = 104",
            // Every column of three rows rewritten with another row's values.
            "UPDATE every_type AS e SET (" + all + ") = (SELECT " + old + " FROM every_type o WHERE o.id = CASE e.id WHEN 101 THEN 102"
                    + " WHEN 102 THEN 105 ELSE 101 END) WHERE e.id IN (101, 102, 105)",
            "UPDATE every_type SET (" + all + ") = (SELECT " + old + " FROM every_type o WHERE o.id = 2) WHERE id = 3",
            "DELETE FROM every_type WHERE id IN (5, 103)",
        };
    }

    private static Map<String, String> row(String... columnsAndValues) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < columnsAndValues.length; i += 2) {
            out.put(columnsAndValues[i], columnsAndValues[i + 1]);
        }
        return out;
    }

    /** row::text of every row identical on both sides, and the types defined alike. */
    private void assertSameText() throws Exception {
        assertThat(query(db.shadow(), "SELECT md5(e::text) || ' ' || left(e::text, 400) FROM every_type e ORDER BY id"))
                .isEqualTo(query(db.source(), "SELECT md5(e::text) || ' ' || left(e::text, 400) FROM every_type e ORDER BY id"));
        pipeline.assertShadowEqualsSource("every_type");
        assertSameTypes();
    }

    /** Column types (format_type), domains (base, default, NOT NULL, checks) and enum labels in order. */
    private void assertSameTypes() throws Exception {
        for (String sql : new String[] {
            "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'every_type'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            "SELECT t.oid::regtype || ' ' || format_type(t.typbasetype, t.typtypmod) || ' ' || t.typnotnull || ' '"
                    + " || coalesce(t.typdefault, '-') || ' ' || coalesce(co.collname, '-') || ' ' || coalesce((SELECT string_agg(conname || ' '"
                    + " || pg_get_constraintdef(c.oid), '; ' ORDER BY conname) FROM pg_constraint c WHERE c.contypid = t.oid), '-')"
                    + " FROM pg_type t LEFT JOIN pg_collation co ON co.oid = t.typcollation"
                    + " WHERE t.typtype = 'd' AND t.typnamespace::regnamespace::text IN ('public', '\"ty pes\"') ORDER BY 1",
            "SELECT t.oid::regtype || ' ' || (SELECT string_agg(enumlabel, ' | ' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid)"
                    + " FROM pg_type t WHERE t.typtype = 'e' AND t.typnamespace::regnamespace::text IN ('public', '\"ty pes\"') ORDER BY 1",
        }) {
            assertThat(query(db.shadow(), sql)).as(sql).isEqualTo(query(db.source(), sql)).isNotEmpty();
        }
    }

    private static List<String> query(Connection c, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (c; Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
