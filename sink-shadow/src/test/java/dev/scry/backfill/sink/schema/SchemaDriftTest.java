package dev.scry.backfill.sink.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.TableId;

class SchemaDriftTest {

    private static SchemaObject object(String key, ObjectKind kind, String statement, String target) {
        return new SchemaObject(key, kind, kind.section() == null ? ObjectKind.Section.POST_DATA : kind.section(),
                new TableId("shop", "orders_2024"), List.of(statement), Set.of(), Set.of(), List.of(), target);
    }

    @Test
    void eachFollowedKindIsDroppedWithTheStatementPostgresqlWants() {
        assertThat(SchemaDrift.drop(object("INDEX shop.i", ObjectKind.INDEX, "CREATE INDEX i ON shop.o (x)", "INDEX shop.i")))
                .isEqualTo("DROP INDEX shop.i");
        assertThat(SchemaDrift.drop(object("CONSTRAINT shop.o.c", ObjectKind.CHECK, "ALTER TABLE ONLY shop.o ADD CONSTRAINT c CHECK (x > 0)",
                "CONSTRAINT c ON shop.o"))).isEqualTo("ALTER TABLE shop.o DROP CONSTRAINT c");
        assertThat(SchemaDrift.drop(object("TRIGGER shop.o.g", ObjectKind.TRIGGER, "CREATE TRIGGER g ...", "TRIGGER g ON shop.o")))
                .isEqualTo("DROP TRIGGER g ON shop.o");
        assertThat(SchemaDrift.drop(object("DEFAULT shop.o.x", ObjectKind.DEFAULT, "ALTER TABLE ONLY shop.o ALTER COLUMN x SET DEFAULT 0", null)))
                .isEqualTo("ALTER TABLE ONLY shop.o ALTER COLUMN x DROP DEFAULT");
        assertThat(SchemaDrift.drop(object("COMMENT ON TABLE shop.o", ObjectKind.COMMENT, "COMMENT ON TABLE shop.o IS 'x'", null)))
                .isEqualTo("COMMENT ON TABLE shop.o IS NULL");
        assertThat(SchemaDrift.drop(object("ATTACH PARTITION shop.orders_2024", ObjectKind.ATTACH_PARTITION,
                "ALTER TABLE ONLY shop.o ATTACH PARTITION shop.orders_2024 FOR VALUES IN (2024)", null)))
                .isEqualTo("ALTER TABLE shop.o DETACH PARTITION \"shop\".\"orders_2024\"");
        assertThat(SchemaDrift.drop(object("FUNCTION shop.f(integer)", ObjectKind.FUNCTION, "CREATE OR REPLACE FUNCTION ...",
                "FUNCTION shop.f(integer)"))).isEqualTo("DROP FUNCTION shop.f(integer)");
    }
}
