package dev.scry.backfill.sink.schema;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.scry.backfill.model.TableId;

/**
 * A schema object while the model is being read: its statements, the catalog rows it creates
 * (how pg_depend's edges are traced back to it), and what it needs first.
 */
final class Draft {

    final String key;
    final ObjectKind kind;
    final TableId table;
    final List<String> statements;
    final Set<String> dependsOn = new LinkedHashSet<>();
    final Set<TableId> needsRows = new LinkedHashSet<>();
    final Set<CatalogRef> owns = new LinkedHashSet<>();
    ObjectKind.Section section;
    List<String> keyColumns = List.of();
    // Whether it covers columns as they are (no expression, no predicate): a plain index or key
    // stays sound over hashed values, which are distinct where the originals were.
    boolean plainColumns;
    // The object as COMMENT ON and ALTER ... OWNER TO name it ("TABLE shop.orders"); null if neither applies.
    String target;
    // A unique index or key: changed values could collide in it.
    boolean unique;
    // For columns' comments: the relation, when its columns can carry comments.
    String relationName;
    // The owner's role name, for schema.copy-ownership.
    String owner;

    Draft(String key, ObjectKind kind, TableId table, List<String> statements) {
        this.key = key;
        this.kind = kind;
        this.table = table;
        this.statements = new ArrayList<>(statements);
        this.section = kind.section();
    }

    Draft owns(long classId, long objectId) {
        owns.add(new CatalogRef(classId, objectId));
        return this;
    }

    Draft after(String key) {
        if (key != null && !key.equals(this.key)) {
            dependsOn.add(key);
        }
        return this;
    }

    SchemaObject toObject() {
        return new SchemaObject(key, kind, section, table, statements, dependsOn, needsRows, keyColumns, target);
    }
}
