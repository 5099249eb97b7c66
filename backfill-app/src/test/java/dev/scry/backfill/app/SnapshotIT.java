package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.nio.file.Files;
import java.time.Duration;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/** The initial copy: tables of several key types and value types arrive exactly, once. */
class SnapshotIT extends PipelineTest {

    private static final String[] TABLES = {"public.t_int", "public.t_uuid", "public.t_composite", "public.t_misc",
        "public.t_empty", "\"Other Schema\".\"Mixed Case\""};

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("snap_it");
        String mood = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy \"quoted\"')";
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute(mood);
        }
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute(mood);
            st.execute("""
                    CREATE TABLE t_int (id int PRIMARY KEY, s text, v varchar(20), c char(5), b boolean, i2 smallint,
                                        r real, d double precision)""");
            st.execute("""
                    INSERT INTO t_int SELECT g, 'row ' || g || E' \\\\ "q" ''a''', 'v' || g, 'c', g % 2 = 0, g % 32767,
                                             g / 3.0, g / 7.0 FROM generate_series(1, 3000) g""");
            st.execute("""
                    INSERT INTO t_int VALUES (-1, '', '', '', NULL, -32768, 'NaN', 'Infinity'), (0, 'ünïcødé ✓ 日本', NULL, NULL, true, 0,
                                              '-Infinity', '-0'), (-2, NULL, NULL, NULL, false, NULL, 1.17549435e-38, 2.2250738585072014e-308)""");
            st.execute("""
                    CREATE TABLE t_uuid (id uuid PRIMARY KEY, doc jsonb, raw json, amount numeric(20,6), big numeric,
                                         ints int[], texts text[], floats float8[], flags bool[], nums numeric[],
                                         stamps timestamp[], days date[], times time[], grid int[][])""");
            st.execute("""
                    INSERT INTO t_uuid SELECT md5(g::text)::uuid, jsonb_build_object('g', g, 'nested', jsonb_build_object('a', ARRAY[1, 2])),
                           '{"keep":  "spacing" , "dup": 1, "dup": 2}', g * 1.000001, (10::numeric ^ 40) + g,
                           ARRAY[g, NULL, -g], ARRAY['a,b', 'c"d', NULL, '', 'NULL', E'back\\\\slash'], ARRAY[1.5, NULL, g, 'NaN', '-Infinity'],
                           ARRAY[true, NULL], ARRAY[1.50, NULL, g, 'NaN'],
                           ARRAY['0044-03-15 10:00:00.5 BC', 'infinity', '2024-01-01 00:00:00.000001']::timestamp[],
                           ARRAY['0044-03-15 BC', '1582-10-10', 'infinity', NULL]::date[], ARRAY['24:00:00', '00:00:00.000001']::time[],
                           ARRAY[[g, 2], [3, NULL]]
                    FROM generate_series(1, 1000) g""");
            st.execute("""
                    INSERT INTO t_uuid VALUES ('00000000-0000-0000-0000-000000000000', 'null', 'null', NULL, 'NaN', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
                           ('ffffffff-ffff-ffff-ffff-ffffffffffff', '{"deep": [[[]]], "u": "\\u00e9"}', '[]', -0.000001,
                            0.000000000000000000000000000001, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)""");
            st.execute("""
                    CREATE TABLE t_composite (k text, day date, ts3 timestamp(3), ts6 timestamp(6), tstz timestamptz, t time,
                                              span interval, blob bytea, PRIMARY KEY (k, day))""");
            st.execute("""
                    INSERT INTO t_composite SELECT 'k' || (g % 10), DATE '2000-01-01' + g, '2024-01-01 00:00:00.123'::timestamp + g * interval '1 hour',
                           '1999-12-31 23:59:59.999999'::timestamp + g * interval '1 microsecond', '2024-06-01 12:00:00.5+05:30'::timestamptz,
                           '13:14:15.161718'::time, make_interval(years => g % 3, months => g % 13, days => g % 40, secs => g / 1000.0),
                           decode('00ff00' || lpad(to_hex(g), 6, '0'), 'hex')
                    FROM generate_series(1, 2000) g""");
            st.execute("""
                    INSERT INTO t_composite VALUES ('edge', '0044-03-15 BC', 'infinity', '-infinity', 'infinity', '24:00:00',
                           '-1 years -2 mons +3 days -04:05:06.789', '\\x'), ('edge', '9999-12-31', NULL, NULL, '-infinity', '00:00:00', '0', NULL),
                           ('edge', '1500-06-01', '0044-03-15 10:00:00.123 BC', '4713-11-24 00:00:00 BC', '0044-03-15 10:00:00.123456+00 BC',
                            '23:59:59.999999', '1 mon -1 days', NULL), ('edge', 'infinity', NULL, NULL, NULL, NULL, NULL, NULL),
                           ('edge', '-infinity', NULL, NULL, '12345-06-07 08:09:10+00', NULL, NULL, NULL)""");
            st.execute("""
                    CREATE TABLE t_misc (id bigserial PRIMARY KEY, addr inet, net cidr, mac macaddr, mac8 macaddr8, ids uuid[], docs jsonb[], bignums numeric[],
                                         feeling mood, doc xml, big text)""");
            st.execute("""
                    INSERT INTO t_misc (addr, net, mac, mac8, ids, docs, bignums, feeling, doc, big) SELECT ('10.0.0.' || (g % 255))::inet, ('10.' || (g % 255) || '.0.0/16')::cidr,
                           '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', ARRAY[md5(g::text)::uuid], ARRAY['{"a": 1}'::jsonb, NULL],
                           CASE WHEN g % 100 = 0 THEN ARRAY(SELECT x / 3.0 FROM generate_series(1, 5000) x) END, (ARRAY['sad', 'ok', 'happy "quoted"'])[g % 3 + 1]::mood,
                           '<a b="c">text &amp; more</a>', CASE WHEN g % 100 = 0 THEN repeat(md5(g::text), 40000) ELSE 'small' END
                    FROM generate_series(1, 500) g""");
            st.execute("INSERT INTO t_misc (addr) VALUES ('::1/128')");
            st.execute("CREATE TABLE t_empty (id int PRIMARY KEY, v text)");
            st.execute("CREATE SCHEMA \"Other Schema\"");
            st.execute("CREATE TABLE \"Other Schema\".\"Mixed Case\" (\"Id\" int PRIMARY KEY, \"select\" text, \"two words\" numeric)");
            st.execute("INSERT INTO \"Other Schema\".\"Mixed Case\" SELECT g, 'x', g FROM generate_series(1, 10) g");
        }
        pipeline = new Pipeline(db, dir, List.of(TABLES), "batch: {max-rows: 700}\n");
    }

    @Test
    void copiesEveryTableExactlyAndPrintsASummary() throws Exception {
        Pipeline.Outcome snapshot = pipeline.run("snapshot");

        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        pipeline.assertShadowEqualsSource(TABLES);
        assertThat(snapshot.out()).contains("snapshot of pipeline " + db.name() + " complete")
                .containsPattern("public\\.t_int\\s+3,003 rows").containsPattern("public\\.t_empty\\s+0 rows")
                .containsPattern("\"Other Schema\"\\.\"Mixed Case\"\\s+10 rows");;
    }

    @Test
    void tablesOfBuiltInTypesTravelInBinaryAndOthersInText() throws Exception {
        Path log = dir.resolve("snapshot.log");
        assertThat(Pipeline.waitFor(pipeline.spawn(log, "snapshot"), Duration.ofSeconds(120))).isZero();

        pipeline.assertShadowEqualsSource(TABLES);
        // Tables of built-in types travel in COPY's binary format (cheaper, exact); a table with an
        // enum column in text, since binary values name types by OIDs that differ between clusters.
        assertThat(Files.readString(log)).contains("copied 3003 rows of public.t_int (COPY in binary)")
                .contains("copied 1002 rows of public.t_uuid (COPY in binary)").contains("copied 0 rows of public.t_empty (COPY in binary)")
                .contains("copied 501 rows of public.t_misc (COPY in text)");
    }

    @Test
    void debeziumSnapshotMethodStaysSelectable() throws Exception {
        pipeline.writeConfig(List.of(TABLES), "snapshot: {method: debezium}\n");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");

        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        pipeline.assertShadowEqualsSource(TABLES);
        pipeline.source("UPDATE t_int SET s = s || '!' WHERE id % 2 = 0", "DELETE FROM t_int WHERE id % 5 = 0");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(TABLES);
    }

    @Test
    void valuesStayExactWhenEveryRowChangesThroughCdc() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        pipeline.source(
                "UPDATE t_int SET s = s || '!', r = r * 2, d = -d",
                "UPDATE t_uuid SET doc = doc || '{\"changed\": true}', ints = ints || 7, floats = floats || 'Infinity'::float8,"
                        + " nums = nums || 'NaN'::numeric, days = days || '-infinity'::date, grid = grid || ARRAY[[5, 6]]",
                "UPDATE t_composite SET span = span * 2, blob = blob || '\\x00'::bytea, tstz = tstz + interval '1 microsecond'",
                // Only "feeling" changes: the large "big" and "bignums" values stay in TOAST and are not sent.
                "UPDATE t_misc SET feeling = 'happy \"quoted\"'",
                "UPDATE \"Other Schema\".\"Mixed Case\" SET \"select\" = NULL, \"two words\" = 'NaN'",
                "DELETE FROM t_int WHERE id % 5 = 0",
                "INSERT INTO t_empty VALUES (1, 'first')");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(TABLES);
    }

    @Test
    void secondSnapshotSaysItIsDoneAndCopiesNothing() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("INSERT INTO t_empty VALUES (99, 'after the snapshot')");

        Pipeline.Outcome again = pipeline.run("snapshot");

        assertThat(again.exitCode()).isZero();
        assertThat(again.out()).contains("already completed").contains("nothing to copy");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM t_empty")).isZero();
    }

    @Test
    void tablesLargerThanTheChunkSizeAreCopiedInPartsThatAddUpToTheWholeTable() throws Exception {
        pipeline.source("CREATE TABLE t_big (id bigint PRIMARY KEY, body text, n numeric)",
                "INSERT INTO t_big SELECT g, repeat(md5(g::text), 3), g / 7.0 FROM generate_series(1, 60000) g",
                // Dead rows and free space in the middle: a part holds whatever rows its range holds.
                "DELETE FROM t_big WHERE id % 3 = 0 AND id < 30000",
                // A key that is not an integer: the table is cut by its pages instead.
                "CREATE TABLE t_pages (code text PRIMARY KEY, body text)",
                "INSERT INTO t_pages SELECT md5(g::text), repeat(md5(g::text), 3) FROM generate_series(1, 40000) g");
        String[] tables = {"public.t_big", "public.t_pages", "public.t_int", "public.t_misc"};
        pipeline.writeConfig(List.of(tables), "snapshot: {chunk-mb: 1, parallelism: 3}\n");

        Path log = dir.resolve("snapshot.log");
        assertThat(Pipeline.waitFor(pipeline.spawn(log, "snapshot"), Duration.ofSeconds(120))).isZero();
        String output = Files.readString(log);

        pipeline.assertShadowEqualsSource(tables);
        // About 8 MB in 1 MB parts: ranges of the integer key, open at both ends, each logged.
        assertThat(output).contains("rows of public.t_big, id from the lowest to ").contains("to the highest (COPY in binary)");
        assertThat(output.lines().filter(l -> l.contains("rows of public.t_big, id from")).count()).isGreaterThan(4);
        assertThat(output).containsPattern("public\\.t_big\\s+50,001 rows");
        // The text-keyed table in page ranges: the first from page 0, the last open-ended.
        assertThat(output).contains("rows of public.t_pages, pages 0 to ").contains("to the end (COPY in binary)");
        assertThat(output.lines().filter(l -> l.contains("rows of public.t_pages, pages")).count()).isGreaterThan(4);
        // Keys were taken off for the load and built once the rows were in.
        assertThat(output).contains("built the primary key of public.t_big").contains("built the primary key of public.t_pages");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid IN"
                + " ('t_big'::regclass, 't_pages'::regclass, 't_int'::regclass, 't_misc'::regclass)")).isEqualTo(4);
        // Streaming starts where the parts' common snapshot ends: nothing missed, nothing twice.
        pipeline.source("UPDATE t_big SET n = -n WHERE id % 10 = 1", "INSERT INTO t_big VALUES (0, 'zero', 0)",
                "UPDATE t_pages SET body = 'changed' WHERE code < '1'");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(tables);
    }
}
