package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import dev.scry.backfill.model.Identifiers;

/**
 * Sequences (other than identity columns', which come with their column): those the configured
 * tables own (serial columns) or their defaults call, and those of the schemas a pattern takes
 * whole; with their type and options, and {@code OWNED BY} their column where that column is
 * copied. Their values are copied by {@link SequenceSync}.
 */
final class SequenceReader {

    private static final String WHOLE_SCHEMAS_SQL = """
            SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY (?) AND c.relkind = 'S'
              AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')""";

    private static final String OWNED_SQL = """
            SELECT d.objid FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' AND d.refobjid = ANY (?)""";

    private static final String SEQUENCES_SQL = """
            SELECT c.oid, n.nspname, c.oid::regclass::text, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
                   s.seqmax, s.seqcache, s.seqcycle, c.relpersistence, pg_get_userbyid(c.relowner), d.refobjid, a.attname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
            LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                                 AND d.deptype = 'a' AND d.refobjsubid > 0
            LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE c.oid = ANY (?)
              AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_class'::regclass AND i.objid = c.oid AND i.deptype = 'i')""";

    private final Catalog catalog;
    private final ModelBuilder model;

    SequenceReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    /** The sequences of the schemas a pattern takes whole, and those the tables own. */
    List<Long> seeds(List<Long> tables) throws SQLException {
        List<Long> oids = new ArrayList<>();
        if (!model.scope.wholeSchemas().isEmpty()) {
            catalog.query(WHOLE_SCHEMAS_SQL, rs -> oids.add(rs.getLong(1)), model.scope.wholeSchemas());
        }
        if (!tables.isEmpty()) {
            catalog.query(OWNED_SQL, rs -> oids.add(rs.getLong(1)), tables);
        }
        return oids;
    }

    void read(Collection<Long> oids) throws SQLException {
        if (oids.isEmpty()) {
            return;
        }
        catalog.query(SEQUENCES_SQL, rs -> {
            String name = rs.getString(3);
            if (model.ownerOf(Catalog.PG_CLASS, rs.getLong(1)) != null) {
                return;
            }
            Draft d = new Draft("SEQUENCE " + name, ObjectKind.SEQUENCE, null, List.of(("u".equals(rs.getString(11)) ? "CREATE UNLOGGED SEQUENCE "
                    : "CREATE SEQUENCE ") + name + " AS " + rs.getString(4) + " START WITH " + rs.getLong(5) + " INCREMENT BY " + rs.getLong(6)
                    + " MINVALUE " + rs.getLong(7) + " MAXVALUE " + rs.getLong(8) + " CACHE " + rs.getLong(9)
                    + (rs.getBoolean(10) ? " CYCLE" : " NO CYCLE")));
            d.target = "SEQUENCE " + name;
            d.owner = rs.getString(12);
            d.after(model.schema(rs.getString(2)));
            model.own(model.add(d), Catalog.PG_CLASS, rs.getLong(1));
            model.sequence(name);
            ModelBuilder.Relation table = rs.getObject(13) == null ? null : model.relation(rs.getLong(13));
            if (table != null && table.isTable()) {
                String column = rs.getString(14);
                if (model.scope.shaping().effect(table.root(), column) == ColumnShaping.Effect.DROPPED) {
                    model.skip("OWNED BY of sequence " + name, "its column " + column + " is left out by drop-columns");
                    return;
                }
                Draft owned = new Draft("SEQUENCE OWNED BY " + name, ObjectKind.SEQUENCE_OWNED_BY, null,
                        List.of("ALTER SEQUENCE " + name + " OWNED BY " + table.name() + "." + Identifiers.quote(column)));
                model.add(owned.after(d.key).after(table.key()));
            }
        }, oids);
    }
}
