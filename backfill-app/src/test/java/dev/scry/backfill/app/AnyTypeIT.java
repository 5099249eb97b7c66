package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/**
 * Types beyond the everyday ones, carried as their text as native logical replication carries
 * them: extension types (citext as a key, hstore in a schema of its own, ltree, cube, isn),
 * full-text search, multiranges, user ranges (a collation, a canonical function in a shell type,
 * a subtype_diff function in SQL, a multirange named apart), composites nested and in arrays and
 * under a domain, a table's row type, every geometric type, pg_lsn, jsonpath, "char", name, oid and other system
 * scalars, arrays of them, edge values. Through snapshot and stream (inserts, updates, deletes),
 * a keyed and a keyless table: {@code row::text} identical on both sides, and the shadow's
 * columns, composites, ranges and extensions defined as on the source. Also what is refused:
 * a type that names catalog objects (unless drop-columns leaves it at the source), and an
 * extension the shadow's server lacks, with nothing written.
 */
class AnyTypeIT extends PipelineTest {

    private static final String TYPES = """
            CREATE EXTENSION citext;
            CREATE SCHEMA "ext s";
            CREATE EXTENSION hstore SCHEMA "ext s";
            CREATE EXTENSION ltree;
            CREATE EXTENSION cube;
            CREATE EXTENSION isn;
            CREATE TYPE "Mood" AS ENUM ('sad', 'ok', 'happy');
            CREATE SCHEMA "ty pes";
            CREATE DOMAIN "ty pes".posint AS int CHECK (VALUE > 0);
            CREATE TYPE textrange_c AS RANGE (subtype = text, collation = "C");
            CREATE FUNCTION time_subtype_diff(x time, y time) RETURNS float8 AS 'SELECT EXTRACT(EPOCH FROM (x - y))'
                LANGUAGE sql STRICT IMMUTABLE;
            CREATE TYPE timerange AS RANGE (subtype = time, subtype_diff = time_subtype_diff,
                multirange_type_name = "ty pes"."time multi");
            CREATE TYPE myint4range;
            CREATE FUNCTION myint4range_canonical(myint4range) RETURNS myint4range AS 'int4range_canonical'
                LANGUAGE internal IMMUTABLE STRICT;
            CREATE TYPE myint4range AS RANGE (subtype = int4, canonical = myint4range_canonical, subtype_diff = int4range_subdiff);
            CREATE TYPE "ty pes"."in ner" AS (t text COLLATE "C", ci citext, n numeric(5,2), m "Mood", p "ty pes".posint);
            CREATE TYPE outer_t AS (i "ty pes"."in ner", arr "ty pes"."in ner"[], r myint4range, h "ext s".hstore);
            CREATE DOMAIN outer_d AS outer_t CHECK ((VALUE).r IS DISTINCT FROM 'empty');
            CREATE TABLE not_configured (a int PRIMARY KEY, b text);
            """;

    // Column name, then declared type; "id" is the key.
    private static final String[][] COLUMNS = {
        {"ci", "citext"}, {"ci_a", "citext[]"}, {"h", "\"ext s\".hstore"}, {"h_a", "\"ext s\".hstore[]"}, {"lt", "ltree"},
        {"lq", "lquery"}, {"lt_a", "ltree[]"}, {"cu", "cube"}, {"cu_a", "cube[]"}, {"isbn", "isbn13"}, {"ean", "ean13"},
        {"isbn_a", "isbn13[]"}, {"tv", "tsvector"}, {"tq", "tsquery"}, {"tv_a", "tsvector[]"}, {"tq_a", "tsquery[]"},
        {"i4mr", "int4multirange"}, {"dmr", "datemultirange"}, {"nmr", "nummultirange"}, {"i4mr_a", "int4multirange[]"},
        {"ur", "textrange_c"}, {"urm", "textmultirange_c"}, {"ur_a", "textrange_c[]"}, {"tr", "timerange"},
        {"trm", "\"ty pes\".\"time multi\""}, {"ir", "myint4range"}, {"comp", "outer_t"}, {"comp_a", "outer_t[]"},
        {"dcomp", "outer_d"}, {"p", "point"}, {"l", "line"}, {"ls", "lseg"}, {"bx", "box"}, {"pa_open", "path"},
        {"pa_closed", "path"}, {"pg", "polygon"}, {"c", "circle"}, {"p_a", "point[]"}, {"l_a", "line[]"}, {"ls_a", "lseg[]"},
        {"bx_a", "box[]"}, {"pa_a", "path[]"}, {"pg_a", "polygon[]"}, {"c_a", "circle[]"}, {"lsn", "pg_lsn"},
        {"lsn_a", "pg_lsn[]"}, {"jp", "jsonpath"}, {"jp_a", "jsonpath[]"}, {"ch", "\"char\""}, {"ch_a", "\"char\"[]"},
        {"nm", "name"}, {"nm_a", "name[]"}, {"o", "oid"}, {"o_a", "oid[]"}, {"ti", "tid"}, {"x8", "xid8"},
        {"snap", "pg_snapshot"}, {"ov", "oidvector"}, {"rt", "not_configured"},
    };

    private static final String COMPOSITE = "ROW(ROW('x, \"y\"', 'ÄbC', 1.5, 'ok', 7)::\"ty pes\".\"in ner\","
            + " ARRAY[ROW('', NULL, -0.01, NULL, NULL)::\"ty pes\".\"in ner\", NULL], '[1,5]', 'a=>\"b c\", n=>NULL')::outer_t";

    /** Rows as column → SQL expression; columns left out are NULL. */
    private static final List<Map<String, String>> ROWS = List.of(
            row("id", "1", "ci", "'ÄbC ünï'", "ci_a", "'{\"a,b\",\"A\\\"B\",NULL,\"\"}'", "h", "'\"a\"=>\"1\", \"b\"=>NULL, \"k y\"=>\"v\\\"q\"'",
                    "h_a", "ARRAY['x=>1'::\"ext s\".hstore, '', NULL]", "lt", "'Top.Science.Astronomy'", "lq", "'*.Astronomy.*{1,2}'",
                    "lt_a", "'{a_b.c,\"\",NULL}'", "cu", "'(1e-300, -0),(1.7976931348623157e308, 2)'", "cu_a", "ARRAY['(1,2,3)'::cube, NULL]",
                    "isbn", "'978-0-393-04002-9'", "ean", "'4006381333931'", "isbn_a", "'{9780393040029,NULL}'",
                    "tv", "'a fat:2A cat sat on a mat:6,7B ''it''''s'':1'", "tq", "'fat & (rat | !cat) <-> a:*B'",
                    "tv_a", "ARRAY[''::tsvector, 'x:1'::tsvector, NULL]", "tq_a", "ARRAY['a & b'::tsquery, NULL]",
                    "i4mr", "'{[1,3), [5,10), [20,)}'", "dmr", "'{[2024-01-01,2024-02-01), [2024-03-01,infinity)}'",
                    "nmr", "'{(,-1.5], [0.001,1e20)}'", "i4mr_a", "ARRAY['{}'::int4multirange, '{(,)}', NULL]",
                    "ur", "'[\"a\",\"b z\")'", "urm", "'{[\"\",\"a\"), (\"q\\\"\",)}'", "ur_a", "ARRAY['empty'::textrange_c, '[,\"z\")', NULL]",
                    "tr", "'[10:00,24:00]'", "trm", "'{[00:00,01:00), [12:00,12:30]}'", "ir", "'[1,5]'", "comp", COMPOSITE,
                    "comp_a", "ARRAY[" + COMPOSITE + ", ROW(NULL, NULL, NULL, NULL)::outer_t, NULL]", "dcomp", COMPOSITE + "::outer_d",
                    "p", "'(1e-300,-0)'", "l", "'{1,-1,0}'", "ls", "'[(0,0),(1.5,1e10)]'", "bx", "'(1,1),(0,0)'",
                    "pa_open", "'[(0,0),(1,1),(2,0)]'", "pa_closed", "'((0,0),(1,1),(2,0))'", "pg", "'((0,0),(1,1),(2,0))'",
                    "c", "'<(0,0),1.5>'", "p_a", "'{\"(1,2)\",NULL}'", "l_a", "ARRAY['{0,1,-5}'::line, NULL]",
                    "ls_a", "ARRAY['[(1,2),(3,4)]'::lseg]", "bx_a", "'{(1,1),(0,0);(3,3),(2,2)}'",
                    "pa_a", "ARRAY['[(1,2),(3,4)]'::path, '((0,0),(1,0),(1,1))']", "pg_a", "ARRAY['((0,0),(1,0),(1,1))'::polygon, NULL]",
                    "c_a", "ARRAY['<(1,2),0>'::circle, NULL]", "lsn", "'0/0'", "lsn_a", "'{0/1,FFFFFFFF/FFFFFFFF,NULL}'",
                    "jp", "'$.a[*] ? (@ > 1 && @ like_regex \"^x\" flag \"i\")'", "jp_a", "ARRAY['strict $.\"k y\"'::jsonpath, '$', NULL]",
                    "ch", "'a'", "ch_a", "ARRAY['x'::\"char\", '', NULL]", "nm", "repeat('n', 63)", "nm_a", "'{\"\",\"a b\",NULL}'",
                    "o", "'4294967295'", "o_a", "'{0,1,NULL}'", "ti", "'(4294967295,65535)'", "x8", "'18446744073709551615'",
                    "snap", "'10:20:10,14,15'", "ov", "'1 2 3'",
                    "rt", "ROW(1, 'x, \"y\"')::not_configured"),
            row("id", "2", "ci", "''", "ci_a", "'{}'", "h", "''", "h_a", "'{}'", "lt", "''", "lq", "'!a|b@.*'", "lt_a", "'{}'",
                    "cu", "'(0)'", "cu_a", "'{}'", "isbn", "'9791234567896'", "ean", "'0000000000000'", "isbn_a", "'{}'",
                    "tv", "''", "tq", "'!a'", "tv_a", "'{}'", "tq_a", "'{}'", "i4mr", "'{}'", "dmr", "'{(,)}'", "nmr", "'{}'", "i4mr_a", "'{}'",
                    "ur", "'empty'", "urm", "'{}'", "ur_a", "'{}'", "tr", "'empty'", "trm", "'{}'", "ir", "'empty'",
                    "comp", "ROW(NULL, '{}', NULL, '')::outer_t", "comp_a", "'{}'", "dcomp", "ROW(NULL, NULL, '[1,2)', NULL)::outer_d",
                    "p", "'(1.7976931348623157e308,NaN)'", "l", "'{-0.5,2,1e300}'", "ls", "'[(0,0),(0,0)]'", "bx", "'(0,0),(0,0)'",
                    "pa_open", "'[(1,1)]'", "pa_closed", "'((1,1))'", "pg", "'((1,1))'", "c", "'<(-1e300,1e300),0>'",
                    "p_a", "'{}'", "l_a", "'{}'", "ls_a", "'{}'", "bx_a", "'{}'", "pa_a", "'{}'", "pg_a", "'{}'", "c_a", "'{}'",
                    "lsn", "'FFFFFFFF/FFFFFFFF'", "lsn_a", "'{}'", "jp", "'$'", "jp_a", "'{}'", "ch", "'\\377'", "ch_a", "'{}'",
                    "nm", "''", "nm_a", "'{}'", "o", "0", "o_a", "'{}'", "ti", "'(0,0)'", "x8", "'0'", "snap", "'5:5:'", "ov", "''"),
            // Only the key: every other column NULL.
            row("id", "3"),
            // Large values (TOASTed), left unchanged by later updates of other columns.
            row("id", "4", "tv", "(SELECT string_agg('w' || g, ' ')::tsvector FROM generate_series(1, 100000) g)",
                    "h", "(SELECT \"ext s\".hstore(array_agg('k' || g), array_agg(md5(g::text))) FROM generate_series(1, 50000) g)",
                    "pg", "(SELECT ('(' || string_agg('(' || g || ',' || g % 7 || ')', ',') || ')')::polygon FROM generate_series(1, 20000) g)",
                    "ci", "repeat('Large ', 200000)"));

    private static final String KEYED = "CREATE TABLE by_ci (k citext PRIMARY KEY, h \"ext s\".hstore, tv tsvector)";
    // Built-in types only: copied in COPY's binary format.
    private static final String KEYLESS = "CREATE TABLE keyless (pg polygon, c circle, tv tsvector, tq tsquery, mr int4multirange,"
            + " dmr datemultirange, l line, bx_a box[], lsn pg_lsn, jp jsonpath, ch \"char\", nm name, o oid, ti tid)";

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("any_type_it");
        String columns = "id int PRIMARY KEY, " + List.of(COLUMNS).stream()
                .map(c -> "\"" + c[0] + "\" " + c[1]).collect(Collectors.joining(", "));
        pipeline = new Pipeline(db, dir, List.of("public.every_kind", "public.by_ci", "public.keyless"),
                "batch: {max-rows: 10, max-delay-ms: 20}\n");
        pipeline.source(TYPES, "CREATE TABLE every_kind (" + columns + ")", KEYED, KEYLESS, "ALTER TABLE keyless REPLICA IDENTITY FULL");
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
        assertThat(pipeline.shadowLong("SELECT length(tv) FROM every_kind WHERE id = 104")).isEqualTo(100_000);
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
        assertThat(pipeline.shadowLong("SELECT length(ci) FROM every_kind WHERE id = 4")).isEqualTo(1_200_000);
    }

    @Test
    void typesNamingCatalogObjectsAreRefusedUnlessDropColumnsLeavesThemAtTheSource() throws Exception {
        pipeline.source("CREATE TYPE with_oid AS (t regtype, n int)",
                "CREATE TABLE catalog_refs (id int PRIMARY KEY, rel regclass, typ with_oid[], v text)",
                "INSERT INTO catalog_refs VALUES (1, 'catalog_refs', ARRAY[ROW('int', 1)::with_oid], 'x')");
        pipeline.writeConfig(List.of("public.catalog_refs"), "");

        Pipeline.Outcome refused = pipeline.run("snapshot");

        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err().strip().lines()).hasSize(1);
        assertThat(refused.err()).contains("(2 problems)", "table public.catalog_refs column rel: type regclass cannot be carried",
                "column typ: type with_oid[] (which holds regtype) cannot be carried", "OIDs of objects in the source's catalog",
                "drop-columns transform (public.catalog_refs.rel)");
        assertThat(pipeline.slotExists()).isFalse();

        pipeline.writeConfig(List.of("public.catalog_refs"),
                "transforms:\n  - {type: drop-columns, columns: [public.catalog_refs.rel, public.catalog_refs.typ]}\n");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        pipeline.source("INSERT INTO catalog_refs VALUES (2, 'pg_class', NULL, 'y')", "UPDATE catalog_refs SET v = 'z' WHERE id = 1");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        assertThat(query(db.shadow(), "SELECT c::text FROM catalog_refs c ORDER BY id")).containsExactly("(1,z)", "(2,y)");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_type WHERE typname = 'with_oid'")).isZero();
    }

    @Test
    void anExtensionTheShadowsServerLacksIsNamedAndNothingIsWritten() throws Exception {
        Path extensions = Path.of(query(db.source(), "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'").get(0), "extension");
        Assumptions.assumeTrue(Files.isWritable(extensions), "the source server's extension directory " + extensions
                + " is not writable here (not a local server, or not run as its owner)");
        String name = "scry_gone_" + Long.toHexString(System.nanoTime());
        Path control = extensions.resolve(name + ".control");
        Path script = extensions.resolve(name + "--1.0.sql");
        try {
            Files.writeString(control, "comment = 'scry-backfill test: an extension only the source has'\ndefault_version = '1.0'\n"
                    + "relocatable = true\n");
            Files.writeString(script, "CREATE TYPE gone_mood AS ENUM ('a', 'b');\n");
            pipeline.source("CREATE EXTENSION " + name, "CREATE TABLE uses_gone (id int PRIMARY KEY, m gone_mood, ci citext)");
        }
        finally {
            // Gone from the server before the pipeline runs: the shadow's server does not offer it.
            Files.deleteIfExists(control);
            Files.deleteIfExists(script);
        }
        pipeline.writeConfig(List.of("public.uses_gone"), "");

        Pipeline.Outcome refused = pipeline.run("snapshot");

        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err().strip().lines()).hasSize(1);
        assertThat(refused.err()).contains("extension " + name + " (version 1.0 on the source)",
                "is not available on the shadow's server", "install it there");
        assertThat(pipeline.slotExists()).as("slot").isFalse();
        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication")).as("publications").isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_namespace WHERE nspname = 'scry_backfill'")).as("metadata").isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_tables WHERE tablename = 'uses_gone'")).as("shadow table").isZero();
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_extension WHERE extname = 'citext'")).as("other extensions").isZero();
    }

    private static String[] inserts() {
        List<String> out = new ArrayList<>();
        for (Map<String, String> r : ROWS) {
            out.add("INSERT INTO every_kind (" + r.keySet().stream().map(c -> "\"" + c + "\"").collect(Collectors.joining(", "))
                    + ") VALUES (" + String.join(", ", r.values()) + ")");
        }
        out.add("INSERT INTO by_ci SELECT ci, h, tv FROM every_kind WHERE id IN (1, 2)");
        out.add("INSERT INTO by_ci VALUES ('MiXeD', 'a=>b', 'mixed'), ('other', NULL, NULL)");
        String keyless = "INSERT INTO keyless SELECT pg, c, tv, tq, i4mr, dmr, l, bx_a, lsn, jp, ch, nm, o, ti FROM every_kind";
        out.add(keyless);
        out.add(keyless + " WHERE id = 1");
        return out.toArray(String[]::new);
    }

    /** Updates of some columns (the large ones stay TOASTed and unchanged), of every column, deletes; a key changing case. */
    private static String[] changes() {
        String all = List.of(COLUMNS).stream().map(c -> "\"" + c[0] + "\"").collect(Collectors.joining(", "));
        String old = List.of(COLUMNS).stream().map(c -> "o.\"" + c[0] + "\"").collect(Collectors.joining(", "));
        return new String[] {
            "UPDATE every_kind SET lt = 'a.b', o = 7, comp.r = '[2,3]' WHERE id = 4",
            "INSERT INTO every_kind SELECT id + 100, " + all + " FROM every_kind",
            "UPDATE every_kind SET ch = 'z', p = '(0.1,0.2)', dmr = '{[2000-01-01,2000-01-02]}' WHERE id = 104",
            "UPDATE every_kind AS e SET (" + all + ") = (SELECT " + old + " FROM every_kind o WHERE o.id = CASE e.id WHEN 101 THEN 102"
                    + " WHEN 102 THEN 101 ELSE 2 END) WHERE e.id IN (101, 102, 3)",
            "DELETE FROM every_kind WHERE id IN (2, 103)",
            "UPDATE by_ci SET k = 'mixed', h = h OPERATOR(\"ext s\".||) 'c=>d' WHERE k = 'MIXED'",
            "UPDATE by_ci SET tv = 'changed' WHERE k = 'OTHER'",
            "DELETE FROM by_ci WHERE k = ''",
            "UPDATE keyless SET c = '<(1,1),1>', mr = mr * '{[2,4)}', ch = 'q' WHERE o = 4294967295",
            "DELETE FROM keyless WHERE pg IS NULL",
            "INSERT INTO keyless (pg, tv) VALUES ('((0,0))', 'new')",
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
        for (String table : List.of("every_kind", "by_ci", "keyless")) {
            String sql = "SELECT md5(e::text) || ' ' || left(e::text, 300) FROM " + table + " e ORDER BY 1";
            assertThat(query(db.shadow(), sql)).as(table).isEqualTo(query(db.source(), sql)).isNotEmpty();
        }
        pipeline.assertShadowEqualsSource("every_kind", "by_ci", "keyless");
        assertSameTypes();
    }

    /** Column types, composite attributes, range definitions and extensions alike on both sides. */
    private void assertSameTypes() throws Exception {
        for (String sql : new String[] {
            "SELECT attrelid::regclass || ' ' || attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid IN ('every_kind'::regclass, 'by_ci'::regclass, 'keyless'::regclass, 'not_configured'::regclass)"
                    + " AND attnum > 0"
                    + " AND NOT attisdropped ORDER BY attrelid::regclass::text, attnum",
            "SELECT t.oid::regtype || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '"
                    + " || coalesce(co.collname, '-') FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid"
                    + " LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100"
                    + " WHERE t.typtype = 'c' AND a.attnum > 0 AND t.typnamespace::regnamespace::text IN ('public', '\"ty pes\"')"
                    + " AND t.typrelid IN (SELECT oid FROM pg_class WHERE relkind = 'c') ORDER BY 1",
            "SELECT rngtypid::regtype || ' ' || rngsubtype::regtype || ' ' || rngmultitypid::regtype || ' ' || coalesce(co.collname, '-')"
                    + " || ' ' || rngcanonical::text || ' ' || rngsubdiff::text || ' ' || opc.opcname"
                    + " FROM pg_range r JOIN pg_opclass opc ON opc.oid = r.rngsubopc LEFT JOIN pg_collation co ON co.oid = r.rngcollation"
                    + " WHERE rngtypid::regtype::text NOT LIKE '%.%' AND rngtypid > 16384 ORDER BY 1",
            "SELECT extname || ' ' || extversion || ' ' || extnamespace::regnamespace FROM pg_extension ORDER BY 1",
            "SELECT t.oid::regtype || ' ' || format_type(t.typbasetype, t.typtypmod) || ' ' || coalesce((SELECT string_agg("
                    + "pg_get_constraintdef(c.oid), '; ') FROM pg_constraint c WHERE c.contypid = t.oid), '-')"
                    + " FROM pg_type t WHERE t.typtype = 'd' AND t.typnamespace::regnamespace::text IN ('public', '\"ty pes\"') ORDER BY 1",
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
