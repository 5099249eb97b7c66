package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/** One column of every supported type, edge-case values, through snapshot and CDC: row::text equal byte for byte. */
class TypesIT {

    private static final String COLUMNS = """
            id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n numeric, n122 numeric(12,2), r real, d double precision,
            b boolean, t text, vc varchar(12), ch char(5), by bytea, dt date, tm time, ts timestamp, tstz timestamptz,
            iv interval, u uuid, js json, jb jsonb, a1 int[], a2 text[][], mood "Mood", mood_a "Mood"[], pos positive,
            ip inet, net cidr, mac macaddr, bits bit(5), vb varbit(16), x xml, m money, ir int4range, nr numrange,
            tr tstzrange, dr daterange, p point, ttz_a timetz[]""";

    private static final String[] ROWS = {
        "(1, -32768, -2147483648, -9223372036854775808, 'NaN', -9999999999.99, 'NaN', '-Infinity', true, '', '', 'a',"
            + " '\\x00ff00'::bytea, '4713-01-01 BC', '24:00:00', 'infinity', '-infinity', '-178000000 years',"
            + " '00000000-0000-0000-0000-000000000000', '{\"b\":1,  \"a\" : [1, 2]}', '{\"z\": null}', '{1,NULL,3}',"
            + " '{{a,NULL},{\"q\\\"uote\",\"\"}}', 'sad', '{happy,NULL}', 1, '::1', '10.0.0.0/8', '08:00:2b:01:02:03', B'00000',"
            + " B'1000', '<a>x</a>', '-92233720368547758.08', 'empty', '(,)', '[2024-01-01 00:00+00,)', '[,2024-01-01)',"
            + " '(-1.5,1e-300)', '{10:00:00+02,NULL}')",
        "(2, 32767, 2147483647, 9223372036854775807, '123456789012345678901234567890.123456789012345678901234567890',"
            + " 0.01, 'Infinity', 1e-320, false, 'ünïcødé ✓ \\ tab\t', 'twelve chars', 'ab', ''::bytea, '2024-02-29', '00:00:00.000001',"
            + " '1582-10-10 12:00:00.123456', '2024-06-30 23:59:59.999999+05:30', '1 year 2 mons 3 days 04:05:06.789',"
            + " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[]', '[1, \"x\", {\"k\": [true]}]', '{}', '{}', 'happy', '{}', 2147483647,"
            + " '2001:db8::1/64', '::/0', 'ff:ff:ff:ff:ff:ff', B'11111', B'0101010000000000', '', '92233720368547758.07',"
            + " '[1,10)', '[0.5,1.5]', 'empty', '[2024-01-01,2024-12-31]', '(1.7976931348623157e308,-0)', NULL)",
        "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
            + " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    };

    @TempDir
    Path dir;

    private Databases db;
    private Pipeline pipeline;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("types_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TYPE \"Mood\" AS ENUM ('sad', 'ok', 'happy')");
            st.execute("CREATE DOMAIN positive AS int CHECK (VALUE > 0)");
            st.execute("CREATE TABLE every_type (" + COLUMNS + ")");
            st.execute("INSERT INTO every_type VALUES " + String.join(", ", ROWS));
            // Large values: TOASTed, and left unchanged by later updates of other columns.
            st.execute("INSERT INTO every_type (id, t, by, jb) VALUES (4, repeat('large ', 3500000), decode(repeat('00ff', 2500000), 'hex'),"
                    + " (SELECT jsonb_agg(g) FROM generate_series(1, 100000) g))");
        }
        pipeline = new Pipeline(db, dir, List.of("public.every_type"), "batch: {max-rows: 10, max-delay-ms: 20}\n");
    }

    @AfterEach
    void tearDown() {
        pipeline.run("teardown", "--drop-metadata");
        db.close();
    }

    @Test
    void everyValueSurvivesSnapshotAndEveryKindOfChange() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        assertSameText();

        pipeline.source(
                // Every row again through CDC, with the values shifted one row along.
                "INSERT INTO every_type SELECT id + 100, i2, i4, i8, n, n122, r, d, b, t, vc, ch, by, dt, tm, ts, tstz, iv, u, js, jb,"
                        + " a1, a2, mood, mood_a, pos, ip, net, mac, bits, vb, x, m, ir, nr, tr, dr, p, ttz_a FROM every_type",
                "UPDATE every_type SET i2 = 1, vb = B'1', m = 0.01 WHERE id = 4",
                "UPDATE every_type AS e SET (i2, i4, i8, n, n122, r, d, b, t, vc, ch, by, dt, tm, ts, tstz, iv, u, js, jb, a1, a2,"
                        + " mood, mood_a, pos, ip, net, mac, bits, vb, x, m, ir, nr, tr, dr, p, ttz_a) = (SELECT o.i2, o.i4, o.i8, o.n,"
                        + " o.n122, o.r, o.d, o.b, o.t, o.vc, o.ch, o.by, o.dt, o.tm, o.ts, o.tstz, o.iv, o.u, o.js, o.jb, o.a1, o.a2,"
                        + " o.mood, o.mood_a, o.pos, o.ip, o.net, o.mac, o.bits, o.vb, o.x, o.m, o.ir, o.nr, o.tr, o.dr, o.p, o.ttz_a"
                        + " FROM every_type o WHERE o.id = CASE e.id WHEN 101 THEN 102 WHEN 102 THEN 103 ELSE 101 END)"
                        + " WHERE e.id IN (101, 102, 103)",
                "DELETE FROM every_type WHERE id = 3");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertSameText();
        pipeline.assertVerifyEqual();
        assertThat(pipeline.shadowLong("SELECT length(t) FROM every_type WHERE id = 4")).isEqualTo(21_000_000);
    }

    @Test
    void timetzIsRefusedNamingTheColumn() throws Exception {
        pipeline.source("CREATE TABLE with_tz (id int PRIMARY KEY, at timetz)");
        pipeline.writeConfig(List.of("public.with_tz"), "");
        Pipeline.Outcome refused = pipeline.run("snapshot");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("column at", "drops its offset");
    }

    /** row::text of every row, and every column's declared type, identical on both sides. */
    private void assertSameText() throws Exception {
        assertThat(rows(db.shadow())).isEqualTo(rows(db.source()));
        String types = "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute"
                + " WHERE attrelid = 'every_type'::regclass AND attnum > 0 AND NOT attisdropped";
        try (Connection s = db.source(); Connection h = db.shadow(); Statement a = s.createStatement(); Statement b = h.createStatement();
             ResultSet ra = a.executeQuery(types); ResultSet rb = b.executeQuery(types)) {
            ra.next();
            rb.next();
            assertThat(rb.getString(1)).isEqualTo(ra.getString(1));
        }
    }

    private static List<String> rows(Connection c) throws Exception {
        List<String> out = new ArrayList<>();
        try (c; Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT md5(e::text) || ' ' || left(e::text, 300) FROM every_type e ORDER BY id")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
