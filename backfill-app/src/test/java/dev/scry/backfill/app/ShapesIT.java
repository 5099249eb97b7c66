package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/** Every table shape through snapshot and CDC: keys of all kinds, no key, partitions, names that need quoting. */
class ShapesIT extends PipelineTest {

    @BeforeEach
    void setUp() {
        db = PgPair.get().newDatabases("shapes_it");
    }

    private void create(String... ddl) throws Exception {
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            for (String s : ddl) {
                st.execute(s);
            }
        }
    }

    /** Snapshot, the changes, then `cdc --exit-when-caught-up`; the tables must end equal. */
    private void snapshotChangeAndCatchUp(List<String> tables, String... changes) throws Exception {
        pipeline = new Pipeline(db, dir, tables, "batch: {max-rows: 50, max-delay-ms: 20}\n");
        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        pipeline.assertShadowEqualsSource(tables.toArray(String[]::new));
        pipeline.source(changes);
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(tables.toArray(String[]::new));
        pipeline.assertVerifyEqual();
    }

    @Test
    void compositeKeysAndUpdatesThatChangeTheKey() throws Exception {
        create("CREATE TABLE single (id int PRIMARY KEY, v text)",
                "CREATE TABLE composite (a text, b date, c int, v text, PRIMARY KEY (a, b, c))",
                "INSERT INTO single SELECT g, 'v' || g FROM generate_series(1, 300) g",
                "INSERT INTO composite SELECT 'k' || (g % 7), date '2024-01-01' + g, g, 'v' FROM generate_series(1, 300) g");

        snapshotChangeAndCatchUp(List.of("public.single", "public.composite"),
                "UPDATE single SET id = id + 1000 WHERE id % 3 = 0",
                "UPDATE single SET id = -id, v = 'moved' WHERE id BETWEEN 10 AND 20",
                "UPDATE composite SET b = b + 365, v = 'moved' WHERE c % 5 = 0",
                "UPDATE composite SET a = 'other' WHERE c < 30",
                // A key freed and reused in one transaction.
                "BEGIN; UPDATE single SET id = 5000 WHERE id = 1; INSERT INTO single VALUES (1, 'reused'); COMMIT",
                "DELETE FROM composite WHERE c % 4 = 0");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM single WHERE id > 1000")).isEqualTo(101);
    }

    @Test
    void tableWithoutKeyUnderReplicaIdentityFullKeepsDuplicateRows() throws Exception {
        create("CREATE TABLE keyless (a int, b text, doc jsonb, p xml)",
                "ALTER TABLE keyless REPLICA IDENTITY FULL",
                "INSERT INTO keyless SELECT g % 10, 'x', '{\"k\": 1}', xmlelement(name x, g) FROM generate_series(1, 100) g",
                // Exact duplicates: two rows with the same values are two rows.
                "INSERT INTO keyless VALUES (1, 'dup', NULL, NULL), (1, 'dup', NULL, NULL), (1, 'dup', NULL, NULL)");

        snapshotChangeAndCatchUp(List.of("public.keyless"),
                "DELETE FROM keyless WHERE ctid = (SELECT ctid FROM keyless WHERE b = 'dup' LIMIT 1)",
                "UPDATE keyless SET b = 'changed', doc = '{\"k\": 2}' WHERE a = 3",
                "UPDATE keyless SET a = NULL WHERE a = 4",
                "DELETE FROM keyless WHERE a = 5",
                "INSERT INTO keyless VALUES (NULL, NULL, NULL, NULL)",
                "UPDATE keyless SET b = 'from null' WHERE a IS NULL AND b IS NULL");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM keyless WHERE b = 'dup'")).isEqualTo(2);
    }

    @Test
    void replicaIdentityIndexIsTheKey() throws Exception {
        create("CREATE TABLE by_index (code text NOT NULL, n int, v text)",
                "CREATE UNIQUE INDEX by_index_code ON by_index (code)",
                "ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_code",
                "INSERT INTO by_index SELECT 'c' || g, g, 'v' FROM generate_series(1, 200) g");

        snapshotChangeAndCatchUp(List.of("public.by_index"),
                "UPDATE by_index SET v = 'changed' WHERE n % 2 = 0",
                "UPDATE by_index SET code = code || '!' WHERE n % 5 = 0",
                "DELETE FROM by_index WHERE n % 7 = 0");
    }

    @Test
    void tableWithoutKeyOrFullIdentityIsRefusedAndNeverPublished() throws Exception {
        create("CREATE TABLE nokey (v text)", "CREATE TABLE parted (id int, v text) PARTITION BY RANGE (id)",
                "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100)");
        pipeline = new Pipeline(db, dir, List.of("public.nokey"), "");
        Pipeline.Outcome refused = pipeline.run("snapshot");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("table public.nokey has no primary key").contains("REPLICA IDENTITY FULL");

        pipeline.writeConfig(List.of("public.parted"), "");
        refused = pipeline.run("snapshot");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("partitioned table public.parted has no usable replica identity on public.parted itself,"
                + " public.parted_1", "ALTER TABLE \"public\".\"parted\" REPLICA IDENTITY FULL; ALTER TABLE \"public\".\"parted_1\""
                + " REPLICA IDENTITY FULL;");

        assertThat(pipeline.sourceLong("SELECT count(*) FROM pg_publication")).isZero();
        // Writes on the source still work: nothing was published.
        pipeline.source("INSERT INTO nokey VALUES ('x')", "UPDATE nokey SET v = 'y'", "DELETE FROM nokey",
                "INSERT INTO parted VALUES (1, 'x')", "UPDATE parted SET v = 'y'");
        pipeline = null;
    }

    @Test
    void partitionedTableArrivesPartitionedWithAllRows() throws Exception {
        create("CREATE TABLE measures (id bigint, at date, v numeric, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                "CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
                "CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
                "INSERT INTO measures SELECT g, date '2024-06-01' + (g % 400), g / 3.0 FROM generate_series(1, 1000) g");

        snapshotChangeAndCatchUp(List.of("public.measures"),
                "INSERT INTO measures SELECT g, date '2025-03-01', 1 FROM generate_series(2000, 2100) g",
                "UPDATE measures SET v = v * 2 WHERE id % 3 = 0",
                // Moves rows from one partition to the other.
                "UPDATE measures SET at = at + 300 WHERE id BETWEEN 1 AND 50 AND at < '2024-09-01'",
                "DELETE FROM measures WHERE id % 10 = 0");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_class WHERE relname = 'measures' AND relkind = 'p'"))
                .as("the shadow's table is partitioned too").isEqualTo(1);
        // The shadow routed each row, moved ones included, to the partition the source has it in.
        for (String partition : List.of("measures_2024", "measures_2025")) {
            assertThat(pipeline.shadowLong("SELECT count(*) FROM " + partition)).isEqualTo(pipeline.sourceLong("SELECT count(*) FROM " + partition));
        }
    }

    @Test
    void namesThatNeedQuotingInOtherSchemas() throws Exception {
        create("CREATE TABLE y (id int PRIMARY KEY)", "INSERT INTO y VALUES (1), (2), (3)",
                "CREATE SCHEMA \"Sales Dept\"",
                "CREATE TABLE \"Sales Dept\".\"Order \"\"Lines\"\" Items\" (\"Id\" int PRIMARY KEY, \"select\" text, \"a;b--c\" int,"
                        + " \"größe\" text, \"with space\" jsonb)",
                "CREATE SCHEMA \"ÜberSchema\"",
                "CREATE TABLE \"ÜberSchema\".\"user\" (\"order\" int PRIMARY KEY, \"Value\" text)",
                "INSERT INTO \"Sales Dept\".\"Order \"\"Lines\"\" Items\" SELECT g, 'sel' || g, g, 'ß' || g, '{\"a\": 1}' FROM generate_series(1, 100) g",
                "INSERT INTO \"ÜberSchema\".\"user\" SELECT g, 'v' FROM generate_series(1, 50) g");

        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE y (id int PRIMARY KEY)");
            st.execute("INSERT INTO y VALUES (1), (2), (3)");
        }
        snapshotChangeAndCatchUp(List.of("\"Sales Dept\".\"Order \"\"Lines\"\" Items\"", "\"ÜberSchema\".\"user\""),
                "UPDATE \"Sales Dept\".\"Order \"\"Lines\"\" Items\" SET \"select\" = 'x''; DROP TABLE y; --' WHERE \"Id\" % 2 = 0",
                "DELETE FROM \"Sales Dept\".\"Order \"\"Lines\"\" Items\" WHERE \"a;b--c\" % 3 = 0",
                "UPDATE \"ÜberSchema\".\"user\" SET \"order\" = \"order\" + 100, \"Value\" = 'moved' WHERE \"order\" < 10");
        // Hostile names and values changed nothing but their own rows: the bystander table y, named in
        // the injected text, is intact on both sides.
        assertThat(pipeline.sourceLong("SELECT count(*) FROM y")).isEqualTo(3);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM y")).isEqualTo(3);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM \"Sales Dept\".\"Order \"\"Lines\"\" Items\" WHERE \"select\" = 'x''; DROP TABLE y; --'"))
                .isEqualTo(34);
    }

    @Test
    void nameEndingInAQuoteIsCarriedAndTheDebeziumReaderRefusesIt() throws Exception {
        create("CREATE TABLE \"Order \"\"Lines\"\"\" (id int PRIMARY KEY, v text)",
                "INSERT INTO \"Order \"\"Lines\"\"\" SELECT g, 'v' || g FROM generate_series(1, 20) g");
        String table = "public.\"Order \"\"Lines\"\"\"";
        pipeline = new Pipeline(db, dir, List.of(table), "snapshot: {method: debezium}\n");
        Pipeline.Outcome refused = pipeline.run("snapshot");
        assertThat(refused.exitCode()).isEqualTo(2);
        assertThat(refused.err()).contains("starts or ends with a double quote");

        pipeline.writeConfig(List.of(table), "");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();
        pipeline.source("UPDATE \"Order \"\"Lines\"\"\" SET v = v || '!' WHERE id % 2 = 0", "DELETE FROM \"Order \"\"Lines\"\"\" WHERE id = 3");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource(table);
    }

    @Test
    void aKeyChangeLeavingALargeValueUnsentArrivesWholeUnderReplicaIdentityFull() throws Exception {
        // The large value stays in TOAST and the new row does not carry it; the whole old row does.
        create("CREATE TABLE docs (id int PRIMARY KEY, body text)", "ALTER TABLE docs REPLICA IDENTITY FULL",
                "INSERT INTO docs SELECT g, (SELECT string_agg(md5(g::text || i::text), '') FROM generate_series(1, 300) i)"
                        + " FROM generate_series(1, 5) g");
        pipeline = new Pipeline(db, dir, List.of("public.docs"), "");
        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        pipeline.source("UPDATE docs SET id = id + 100 WHERE id <= 2");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource("public.docs");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM docs WHERE id > 100 AND length(body) = 9600")).isEqualTo(2);
    }
}
