package dev.scry.backfill.transform;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/** The one list of transform types, what each built step says it does to a table, and the README held to the list. */
class TransformTypeTest {

    private static final TableSpec USERS = new TableSpec(new TableId("public", "users"), List.of(
            new ColumnSpec("id", "integer", true, "int4", false), new ColumnSpec("email", "text", false, "text", false),
            new ColumnSpec("notes", "text", false, "text", false)), List.of("id"));
    private static final TableSpec ORDERS = new TableSpec(new TableId("public", "orders"), List.of(
            new ColumnSpec("id", "integer", true, "int4", false), new ColumnSpec("kind", "text", false, "text", false)), List.of("id"));
    private static final TableSpec PLAIN = new TableSpec(new TableId("public", "plain"), List.of(
            new ColumnSpec("id", "integer", true, "int4", false)), List.of("id"));

    @Test
    void eachStepSaysWhichTablesItTouchesAndHow() {
        TransformChain chain = TransformChain.create(List.of(
                entry("drop-columns", Map.of("columns", List.of("public.users.notes"))),
                entry("hash", Map.of("columns", List.of("public.users.email"), "key", "k")),
                entry("filter-rows", Map.of("table", "public.orders", "where", "kind == 'buy'"))), List.of(USERS, ORDERS, PLAIN));

        assertThat(chain.touches(USERS.id())).isTrue();
        assertThat(chain.touches(ORDERS.id())).isTrue();
        assertThat(chain.touches(PLAIN.id())).as("no step names it").isFalse();
        assertThat(chain.droppedColumns(USERS.id())).containsExactly("notes");
        assertThat(chain.rewrittenColumns(USERS.id())).isEqualTo(Map.of("email", true));
        assertThat(chain.filters(ORDERS.id())).isTrue();
        assertThat(chain.filters(USERS.id())).isFalse();
        assertThat(chain.changesAnyValue(USERS.id())).isFalse();
        assertThat(TransformChain.dropsColumn(List.of(entry("drop-columns", Map.of("columns", List.of("public.*.notes")))))
                .test(USERS.id(), "notes")).as("known from the settings alone").isTrue();
    }

    @Test
    void aCustomStepThatSaysNothingTouchesEveryTable() {
        Transform opaque = new Transform() {
            @Override
            public TableSpec shape(TableSpec table) {
                return table;
            }

            @Override
            public dev.scry.backfill.model.ChangeEvent apply(dev.scry.backfill.model.ChangeEvent change) {
                return change;
            }
        };
        assertThat(opaque.effect(PLAIN.id()).touches()).isTrue();
        assertThat(opaque.effect(PLAIN.id()).anyValue()).isTrue();
    }

    @Test
    void settingsAreCheckedBeforeAnyTableIsReadWithTheKeyFirst() {
        Map<String, TransformType> types = TransformType.all();
        assertThat(types.get("mask").check(Map.of("columns", List.of("a.b.c"), "keep-last", "x"))).hasValue("keep-last must be a number, got x");
        assertThat(types.get("hash").check(Map.of("columns", List.of("a.b.c")))).get().asString().startsWith("key is required");
        assertThat(types.get("drop-columns").check(Map.of("columns", List.of("users.notes")))).get().asString()
                .startsWith("columns[0]: 'users.notes' is not schema.table.column");
        assertThat(types.get("filter-rows").check(Map.of("table", "public.orders", "where", "kind =="))).get().asString()
                .startsWith("where 'kind ==' is not a valid expression");
        assertThat(types.get("generalize").check(Map.of("columns", List.of("a.b.c"), "bucket", "10"))).isEmpty();
        assertThat(types.get("upper-case").declaredKeys()).as("a custom type checks its own keys").isEmpty();
    }

    @Test
    void theReadmeDocumentsEveryBuiltInTypeWithItsKeys() throws Exception {
        String readme = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("README.md"));
        String section = readme.substring(readme.indexOf("\n## Transforms\n"));
        section = section.substring(0, section.indexOf("\n## ", 1));
        for (TransformType type : TransformType.BUILT_IN) {
            assertThat(section).as("README's Transforms section shows " + type.name()).contains("{type: " + type.name() + ",")
                    .contains("- `" + type.name() + "`:");
            for (String key : type.keys()) {
                assertThat(section).as("README's Transforms section shows " + type.name() + "'s key " + key).contains(key + ": ");
            }
        }
    }

    private static TransformConfig entry(String type, Map<String, Object> settings) {
        return new TransformConfig(type, settings, "transforms[0]");
    }
}
