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

import dev.scry.backfill.testing.Databases;

/**
 * One column of every supported type (with domains over the types our converters handle, enums,
 * arrays of them, names that need quoting), rows of edge-case values and every kind of change to
 * them: the source schema of {@link TypesIT}, and of the version matrix ({@link VersionMatrixIT}).
 * The table is {@code public.every_type}, keyed by {@code id}.
 */
final class EveryType {

    static final String TABLE = "public.every_type";

    static final String TYPES = """
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
    static final String[][] COLUMNS = {
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
    static final List<Map<String, String>> ROWS = List.of(
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

    private EveryType() {
    }

    /** The types, domains, enums and the table, on the source. */
    static String[] schema() {
        String columns = "id int PRIMARY KEY, " + List.of(COLUMNS).stream()
                .map(c -> "\"" + c[0] + "\" " + c[1]).collect(Collectors.joining(", "));
        return new String[] {TYPES, "CREATE TABLE every_type (" + columns + ")"};
    }

    /** The rows, one INSERT each. */
    static String[] inserts() {
        return inserts(ROWS);
    }

    /**
     * The rows without the one of several megabytes (id 4): every type and edge value still, at a
     * fraction of the time (for the version matrix, which runs this on six pairs of servers).
     */
    static String[] insertsOfOrdinarySize() {
        return inserts(ROWS.stream().filter(r -> !r.get("id").equals("4")).toList());
    }

    private static String[] inserts(List<Map<String, String>> rows) {
        return rows.stream().map(r -> "INSERT INTO every_type (" + r.keySet().stream().map(c -> "\"" + c + "\"").collect(Collectors.joining(", "))
                + ") VALUES (" + String.join(", ", r.values()) + ")").toArray(String[]::new);
    }

    /** Inserts, updates of some columns (the large ones stay TOASTed and unchanged), updates of every column, deletes. */
    static String[] changes() {
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
    static void assertSameText(Databases db, Pipeline pipeline) throws Exception {
        assertThat(query(db.shadow(), "SELECT md5(e::text) || ' ' || left(e::text, 400) FROM every_type e ORDER BY id"))
                .isEqualTo(query(db.source(), "SELECT md5(e::text) || ' ' || left(e::text, 400) FROM every_type e ORDER BY id"));
        pipeline.assertShadowEqualsSource("every_type");
        assertSameTypes(db);
    }

    /** Column types (format_type), domains (base, default, NOT NULL, checks) and enum labels in order. */
    static void assertSameTypes(Databases db) throws Exception {
        // A domain's NOT NULL is compared as typnotnull: PostgreSQL 17 also lists it as a constraint, older ones do not.
        for (String sql : new String[] {
            "SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'every_type'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            "SELECT t.oid::regtype || ' ' || format_type(t.typbasetype, t.typtypmod) || ' ' || t.typnotnull || ' '"
                    + " || coalesce(t.typdefault, '-') || ' ' || coalesce(co.collname, '-') || ' ' || coalesce((SELECT string_agg(conname || ' '"
                    + " || pg_get_constraintdef(c.oid), '; ' ORDER BY conname) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n'), '-')"
                    + " FROM pg_type t LEFT JOIN pg_collation co ON co.oid = t.typcollation"
                    + " WHERE t.typtype = 'd' AND t.typnamespace::regnamespace::text IN ('public', '\"ty pes\"') ORDER BY 1",
            "SELECT t.oid::regtype || ' ' || (SELECT string_agg(enumlabel, ' | ' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid)"
                    + " FROM pg_type t WHERE t.typtype = 'e' AND t.typnamespace::regnamespace::text IN ('public', '\"ty pes\"') ORDER BY 1",
        }) {
            assertThat(query(db.shadow(), sql)).as(sql).isEqualTo(query(db.source(), sql)).isNotEmpty();
        }
    }

    static List<String> query(Connection c, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (c; Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
