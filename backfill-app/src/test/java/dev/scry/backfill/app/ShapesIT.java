package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
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
 * Every table shape ({@link EveryShape}) through snapshot and CDC: keys of all kinds, no key,
 * partitions, names that need quoting.
 */
@ParameterizedClass
@EnumSource(Pipeline.Reader.class)
class ShapesIT extends PipelineTest {

    @Parameter
    Pipeline.Reader reader;

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

    /** Snapshot, the shape's changes, then `cdc --exit-when-caught-up`; the tables must end equal. */
    private void snapshotChangeAndCatchUp(EveryShape shape) throws Exception {
        List<String> tables = shape.tables();
        String[] changes = shape.changes();
        pipeline = new Pipeline(db, dir, tables, "batch: {max-rows: 50, max-delay-ms: 20}\n").streamingWith(reader);
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
        create(EveryShape.COMPOSITE_KEYS.ddl());
        snapshotChangeAndCatchUp(EveryShape.COMPOSITE_KEYS);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM single WHERE id > 1000")).isEqualTo(101);
    }

    @Test
    void tableWithoutKeyUnderReplicaIdentityFullKeepsDuplicateRows() throws Exception {
        create(EveryShape.KEYLESS_FULL_IDENTITY.ddl());
        snapshotChangeAndCatchUp(EveryShape.KEYLESS_FULL_IDENTITY);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM keyless WHERE b = 'dup'")).isEqualTo(2);
    }

    @Test
    void replicaIdentityIndexIsTheKey() throws Exception {
        create(EveryShape.IDENTITY_INDEX.ddl());
        snapshotChangeAndCatchUp(EveryShape.IDENTITY_INDEX);
    }

    @Test
    void tableWithoutKeyOrFullIdentityIsRefusedAndNeverPublished() throws Exception {
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        create("CREATE TABLE nokey (v text)", "CREATE TABLE parted (id int, v text) PARTITION BY RANGE (id)",
                "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100)");
        pipeline = new Pipeline(db, dir, List.of("public.nokey"), "").streamingWith(reader);
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
        create(EveryShape.PARTITIONED.ddl());
        snapshotChangeAndCatchUp(EveryShape.PARTITIONED);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM pg_class WHERE relname = 'measures' AND relkind = 'p'"))
                .as("the shadow's table is partitioned too").isEqualTo(1);
        // The shadow routed each row, moved ones included, to the partition the source has it in.
        for (String partition : List.of("measures_2024", "measures_2025")) {
            assertThat(pipeline.shadowLong("SELECT count(*) FROM " + partition)).isEqualTo(pipeline.sourceLong("SELECT count(*) FROM " + partition));
        }
    }

    @Test
    void namesThatNeedQuotingInOtherSchemas() throws Exception {
        create("CREATE TABLE y (id int PRIMARY KEY)", "INSERT INTO y VALUES (1), (2), (3)");
        create(EveryShape.QUOTED_NAMES.ddl());
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE y (id int PRIMARY KEY)");
            st.execute("INSERT INTO y VALUES (1), (2), (3)");
        }
        snapshotChangeAndCatchUp(EveryShape.QUOTED_NAMES);
        // Hostile names and values changed nothing but their own rows: the bystander table y, named in
        // the injected text, is intact on both sides.
        assertThat(pipeline.sourceLong("SELECT count(*) FROM y")).isEqualTo(3);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM y")).isEqualTo(3);
        assertThat(pipeline.shadowLong("SELECT count(*) FROM \"Sales Dept\".\"Order \"\"Lines\"\" Items\" WHERE \"select\" = 'x''; DROP TABLE y; --'"))
                .isEqualTo(34);
    }

    @Test
    void nameEndingInAQuoteIsCarriedAndTheDebeziumReaderRefusesIt() throws Exception {
        Assumptions.assumeTrue(reader == Pipeline.Reader.PGOUTPUT, "the copy snapshot or the configuration check, which no reader changes: once");
        create("CREATE TABLE \"Order \"\"Lines\"\"\" (id int PRIMARY KEY, v text)",
                "INSERT INTO \"Order \"\"Lines\"\"\" SELECT g, 'v' || g FROM generate_series(1, 20) g");
        String table = "public.\"Order \"\"Lines\"\"\"";
        pipeline = new Pipeline(db, dir, List.of(table), "snapshot: {method: debezium}\n").streamingWith(reader);
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
        create(EveryShape.KEY_CHANGE_UNDER_TOAST.ddl());
        pipeline = new Pipeline(db, dir, EveryShape.KEY_CHANGE_UNDER_TOAST.tables(), "").streamingWith(reader);
        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        pipeline.source(EveryShape.KEY_CHANGE_UNDER_TOAST.changes());
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");

        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource("public.docs");
        assertThat(pipeline.shadowLong("SELECT count(*) FROM docs WHERE id > 100 AND length(body) = 9600")).isEqualTo(2);
    }
}
