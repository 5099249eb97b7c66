package dev.scry.backfill.sink.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.TableId;
import dev.scry.backfill.sink.ShadowTypes;
import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;
import dev.scry.backfill.testing.SchemaDump;

/** The shadow's schema built from the source's catalog: what pg_dump shows of both is the same. */
class SchemaSyncIT {

    private static final List<TableId> TABLES = List.of(new TableId("shop", "bookings"), new TableId("shop", "coupons"), new TableId("shop", "customers"),
            new TableId("shop", "events"), new TableId("shop", "orders"), new TableId("shop", "tags"), new TableId("ledger", "entries"));

    private Databases db;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("schema_sync");
        SchemaDump.load(db.sourceServer(), db.name(), "schema/rich.sql");
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    private static SchemaSync sync() {
        return new SchemaSync(new SchemaScope(TABLES, List.of("shop"), ColumnShaping.NONE, SchemaSettings.DEFAULT));
    }

    private void createAll(SchemaPlan plan) throws SQLException {
        try (Connection source = db.source(); Connection shadow = db.shadow()) {
            List<Long> oids = new ArrayList<>();
            for (TableId t : TABLES) {
                try (var ps = source.prepareStatement("SELECT ?::regclass::oid")) {
                    ps.setString(1, t.quoted());
                    try (var rs = ps.executeQuery()) {
                        rs.next();
                        oids.add(rs.getLong(1));
                    }
                }
            }
            ShadowTypes.ensure(source, shadow, oids);
            ShadowTypes.ensureTypes(source, shadow, plan.source().types());
            shadow.setAutoCommit(false);
            SchemaSync.create(shadow, plan.diff().missing());
            shadow.commit();
        }
    }

    @Test
    void theShadowGetsEveryObjectPgDumpShows() throws Exception {
        SchemaPlan plan;
        try (Connection source = db.source(); Connection shadow = db.shadow()) {
            plan = sync().plan(source, shadow);
        }
        createAll(plan);

        List<String> schemas = List.of("shop", "ledger");
        String dump = SchemaDump.of(db.sourceServer(), db.name(), schemas);
        assertThat(dump).contains("CREATE TRIGGER orders_touch", "ATTACH PARTITION shop.events_2024_click", "CREATE MATERIALIZED VIEW",
                "ALTER INDEX shop.events_pkey ATTACH PARTITION", "EXCLUDE USING gist", "CREATE PROCEDURE shop.archive",
                "COMMENT ON COLUMN shop.big_orders.amount", "REPLICA IDENTITY USING INDEX tags_tag_lang");
        assertThat(SchemaDump.of(db.shadowServer(), db.name(), schemas)).isEqualTo(dump);
        try (Connection source = db.source(); Connection shadow = db.shadow()) {
            SchemaPlan again = sync().plan(source, shadow);
            assertThat(again.diff().missing()).isEmpty();
            assertThat(again.diff().differing()).isEmpty();
        }
    }
}
