package dev.scry.backfill.sink.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class DependencyOrderTest {

    private static SchemaObject object(String key, ObjectKind kind, String... dependsOn) {
        return new SchemaObject(key, kind, ObjectKind.Section.PRE_DATA, null, List.of("-- " + key), Set.of(dependsOn), Set.of(), List.of());
    }

    @Test
    void anObjectComesAfterWhatItDependsOnWhateverItsKind() {
        SchemaObject table = object("TABLE t", ObjectKind.TABLE);
        // A SQL-standard function body reads the table: created after it, though functions usually go first.
        SchemaObject function = object("FUNCTION f()", ObjectKind.FUNCTION, "TABLE t");
        SchemaObject view = object("VIEW v", ObjectKind.VIEW, "FUNCTION f()");
        SchemaObject schema = object("SCHEMA s", ObjectKind.SCHEMA);

        List<SchemaObject> sorted = DependencyOrder.sort(List.of(view, function, table, schema));

        assertThat(sorted).extracting(SchemaObject::key).containsExactly("SCHEMA s", "TABLE t", "FUNCTION f()", "VIEW v");
    }

    @Test
    void objectsFreeToGoFollowKindOrderThenKeySoEveryRunIsTheSame() {
        List<SchemaObject> sorted = DependencyOrder.sort(List.of(object("TABLE b", ObjectKind.TABLE), object("SEQUENCE z", ObjectKind.SEQUENCE),
                object("TABLE a", ObjectKind.TABLE), object("FUNCTION f()", ObjectKind.FUNCTION)));

        assertThat(sorted).extracting(SchemaObject::key).containsExactly("FUNCTION f()", "SEQUENCE z", "TABLE a", "TABLE b");
    }

    @Test
    void aDependencyOutsideTheListCountsAsMetAndACycleStillEnds() {
        List<SchemaObject> sorted = DependencyOrder.sort(List.of(object("VIEW a", ObjectKind.VIEW, "VIEW b"),
                object("VIEW b", ObjectKind.VIEW, "VIEW a"), object("TABLE t", ObjectKind.TABLE, "SCHEMA elsewhere")));

        assertThat(sorted).extracting(SchemaObject::key).containsExactly("TABLE t", "VIEW a", "VIEW b");
    }
}
