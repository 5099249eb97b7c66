package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.model.Identifiers;

/**
 * Comments on every object of the model that can carry one (tables, columns, views, materialized
 * views, indexes, constraints, triggers, functions, procedures, sequences, schemas), each an
 * object of its own that follows the one it is about.
 */
final class CommentReader {

    private static final String COMMENTS_SQL = """
            SELECT d.classoid, d.objoid, d.objsubid, d.description, a.attname
            FROM pg_description d
            LEFT JOIN pg_attribute a ON d.classoid = 'pg_class'::regclass AND d.objsubid > 0
                                     AND a.attrelid = d.objoid AND a.attnum = d.objsubid AND NOT a.attisdropped
            WHERE (d.classoid, d.objoid) IN (SELECT * FROM unnest(?::oid[], ?::oid[]))
            ORDER BY d.classoid, d.objoid, d.objsubid""";

    private final Catalog catalog;
    private final ModelBuilder model;

    CommentReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    void read() throws SQLException {
        // The catalog row a comment on each object is attached to: the first one it creates.
        Map<CatalogRef, Draft> commentable = new HashMap<>();
        for (Draft d : List.copyOf(model.drafts())) {
            if (d.target != null && !d.owns.isEmpty()) {
                commentable.put(d.owns.iterator().next(), d);
            }
        }
        if (commentable.isEmpty()) {
            return;
        }
        List<Long> classes = new ArrayList<>();
        List<Long> objects = new ArrayList<>();
        commentable.keySet().forEach(r -> {
            classes.add(r.classId());
            objects.add(r.objectId());
        });
        catalog.query(COMMENTS_SQL, rs -> {
            Draft on = commentable.get(new CatalogRef(rs.getLong(1), rs.getLong(2)));
            if (on == null) {
                return;
            }
            String target;
            if (rs.getInt(3) == 0) {
                target = on.target;
            }
            else {
                String column = rs.getString(5);
                if (column == null || on.relationName == null) {
                    return;
                }
                ModelBuilder.Relation r = model.relation(rs.getLong(2));
                if (r != null && r.root() != null && model.scope.shaping().effect(r.root(), column) == ColumnShaping.Effect.DROPPED) {
                    return;
                }
                target = "COLUMN " + on.relationName + "." + Identifiers.quote(column);
            }
            Draft d = new Draft("COMMENT ON " + target, ObjectKind.COMMENT, on.table,
                    List.of("COMMENT ON " + target + " IS " + Identifiers.literal(rs.getString(4))));
            d.section = on.section;
            model.add(d.after(on.key));
        }, classes, objects);
    }
}
