package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.List;

/**
 * Triggers with {@code pg_get_triggerdef} and their enabled state (disabled, replica, always), as
 * pg_dump writes them. They are there for migrations and queries to see: the pipeline's sessions
 * run with {@code session_replication_role = replica}, where only ALWAYS and REPLICA triggers fire.
 */
final class TriggerReader {

    // A partition's copy of its parent's trigger (tgparentid) comes with the parent's.
    private static final String TRIGGERS_SQL = """
            SELECT g.oid, g.tgrelid, quote_ident(g.tgname), pg_get_triggerdef(g.oid), g.tgenabled
            FROM pg_trigger g
            WHERE g.tgrelid = ANY (?) AND NOT g.tgisinternal AND g.tgparentid = 0
            ORDER BY g.tgrelid, g.tgname""";

    private final Catalog catalog;
    private final ModelBuilder model;

    TriggerReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    void read(List<Long> relations) throws SQLException {
        if (relations.isEmpty()) {
            return;
        }
        catalog.query(TRIGGERS_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(2));
            String name = rs.getString(3);
            Draft d = new Draft("TRIGGER " + r.name() + "." + name, ObjectKind.TRIGGER, r.id(), List.of(rs.getString(4)));
            String state = switch (rs.getString(5)) {
                case "D" -> "DISABLE TRIGGER ";
                case "R" -> "ENABLE REPLICA TRIGGER ";
                case "A" -> "ENABLE ALWAYS TRIGGER ";
                default -> null;
            };
            if (state != null) {
                d.statements.add("ALTER TABLE " + r.name() + " " + state + name);
            }
            d.target = "TRIGGER " + name + " ON " + r.name();
            model.own(model.add(d.after(r.key())), Catalog.PG_TRIGGER, rs.getLong(1));
        }, relations);
    }
}
