package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.List;

import dev.scry.backfill.model.Identifiers;

/**
 * Foreign keys with {@code pg_get_constraintdef} (NOT VALID kept), each built once the rows of both
 * its tables are in and the key it references is built. A foreign key to a table the pipeline
 * does not copy is left out (see {@link Dependencies}); one whose table loses rows to filter-rows
 * is added NOT VALID, because the rows it would check against are missing on purpose.
 */
final class ForeignKeyReader {

    // A partition's copy of its parent's foreign key (conparentid) comes with the parent's.
    private static final String FOREIGN_KEYS_SQL = """
            SELECT k.oid, k.conrelid, k.conname, pg_get_constraintdef(k.oid), k.confrelid, c.relkind, k.convalidated
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE k.conrelid = ANY (?) AND k.contype = 'f' AND k.conparentid = 0
            ORDER BY k.conrelid, k.conname""";

    private final Catalog catalog;
    private final ModelBuilder model;

    ForeignKeyReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    void read(List<Long> tables) throws SQLException {
        if (tables.isEmpty()) {
            return;
        }
        catalog.query(FOREIGN_KEYS_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(2));
            ModelBuilder.Relation referenced = model.relation(rs.getLong(5));
            String name = Identifiers.quote(rs.getString(3));
            String definition = rs.getString(4);
            ColumnShaping shaping = model.scope.shaping();
            if (rs.getBoolean(7) && referenced != null && (shaping.filtered(r.root()) || shaping.filtered(referenced.root()))) {
                definition += " NOT VALID";
                model.note("foreign key " + name + " of " + r.name() + " is added NOT VALID on the shadow: filter-rows leaves rows of "
                        + (shaping.filtered(r.root()) ? r.root() : referenced.root()) + " out, so existing rows are not checked");
            }
            Draft d = new Draft("CONSTRAINT " + r.name() + "." + name, ObjectKind.FOREIGN_KEY, r.id(),
                    List.of((rs.getString(6).charAt(0) == 'p' ? "ALTER TABLE " : "ALTER TABLE ONLY ") + r.name() + " ADD CONSTRAINT " + name
                            + " " + definition));
            d.target = "CONSTRAINT " + name + " ON " + r.name();
            d.plainColumns = true;
            if (referenced != null && referenced.root() != null) {
                d.needsRows.add(referenced.root());
            }
            model.own(model.add(d.after(r.key())), Catalog.PG_CONSTRAINT, rs.getLong(1));
        }, tables);
    }
}
