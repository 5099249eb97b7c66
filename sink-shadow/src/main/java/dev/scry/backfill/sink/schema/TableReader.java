package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * The configured tables and every partition under them, as pg_dump creates them: each table on
 * its own with its columns in order (exact types, collations where they differ from the type's,
 * NOT NULL, the transforms' types), partition keys, storage parameters and access method; then
 * its CHECK constraints, each partition attached with its bound, defaults, identity columns and
 * column options as separate objects, and its replica identity.
 */
final class TableReader {

    private static final String RELATIONS_SQL = """
            SELECT c.oid, n.nspname, c.relname, c.oid::regclass::text, c.relkind, r.root_schema, r.root_name,
                   coalesce(t.parentrelid::oid, 0), c.relpersistence, c.reloptions, am.amname,
                   CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                   CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
                   c.relreplident, pg_get_userbyid(c.relowner)
            FROM (SELECT rc.oid AS root, rn.nspname AS root_schema, rc.relname AS root_name
                  FROM unnest(?::text[], ?::text[]) AS q(s, n)
                  JOIN pg_namespace rn ON rn.nspname = q.s
                  JOIN pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = q.n AND rc.relkind IN ('r', 'p')) r
            LEFT JOIN LATERAL pg_partition_tree(r.root) t ON true
            JOIN pg_class c ON c.oid = coalesce(t.relid, r.root)
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_am am ON am.oid = c.relam
            ORDER BY r.root_schema, r.root_name, coalesce(t.level, 0), n.nspname, c.relname""";

    // attstattarget became nullable (NULL = default) in PostgreSQL 17; -1 before.
    private static final String COLUMNS_SQL = """
            SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   CASE WHEN a.attcollation <> t.typcollation THEN
                     (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
                      JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
                   a.attidentity, a.attstorage, t.typstorage, coalesce(a.attstattarget::int, -1), a.attoptions, a.attcompression
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = ANY (?) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attrelid, a.attnum""";

    private static final String DEFAULTS_SQL = """
            SELECT d.oid, d.adrelid, a.attname, pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
            WHERE d.adrelid = ANY (?) AND a.attgenerated = ''""";

    // The sequence behind each identity column, with the options it was given.
    private static final String IDENTITY_SQL = """
            SELECT d.refobjid, a.attname, a.attidentity, d.objid, d.objid::regclass::text, s.seqstart, s.seqincrement, s.seqmin,
                   s.seqmax, s.seqcache, s.seqcycle
            FROM pg_depend d
            JOIN pg_sequence s ON s.seqrelid = d.objid
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'
              AND d.refobjid = ANY (?) AND a.attidentity <> ''""";

    // A partition's CHECK constraints are all its own on the shadow, inherited ones too, as
    // pg_dump does: ATTACH PARTITION needs the partition to have its parent's checks already.
    private static final String CHECKS_SQL = """
            SELECT k.oid, k.conrelid, k.conname, pg_get_constraintdef(k.oid), k.convalidated, c.relkind
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE k.conrelid = ANY (?) AND k.contype = 'c' AND (k.conislocal OR c.relispartition)
            ORDER BY k.conrelid, k.conname""";

    private final Catalog catalog;
    private final ModelBuilder model;

    TableReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    /** Reads the configured tables that exist; returns the OIDs of the relations read (tables and partitions). */
    List<Long> read() throws SQLException {
        List<String> schemas = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (TableId t : model.scope.tables()) {
            schemas.add(t.schema());
            names.add(t.name());
        }
        Map<Long, String[]> heads = new java.util.LinkedHashMap<>();
        Map<Long, String> bounds = new HashMap<>();
        Map<Long, Character> identities = new HashMap<>();
        catalog.query(RELATIONS_SQL, rs -> {
            long oid = rs.getLong(1);
            if (model.hasRelation(oid)) {
                return;
            }
            char kind = rs.getString(5).charAt(0);
            ModelBuilder.Relation r = new ModelBuilder.Relation(oid, new TableId(rs.getString(2), rs.getString(3)), rs.getString(4), kind,
                    new TableId(rs.getString(6), rs.getString(7)), rs.getLong(8));
            model.relation(r);
            StringBuilder tail = new StringBuilder();
            if (rs.getString(12) != null) {
                tail.append(" PARTITION BY ").append(rs.getString(12));
            }
            String am = rs.getString(11);
            if (am != null && !am.equals("heap")) {
                tail.append(" USING ").append(Identifiers.quote(am));
            }
            tail.append(Catalog.withOptions(Catalog.strings(rs.getArray(10))));
            heads.put(oid, new String[] {("u".equals(rs.getString(9)) ? "CREATE UNLOGGED TABLE " : "CREATE TABLE ") + r.name() + " (",
                ")" + tail, rs.getString(15)});
            if (rs.getString(13) != null) {
                bounds.put(oid, rs.getString(13));
            }
            identities.put(oid, rs.getString(14).charAt(0));
        }, schemas, names);
        List<Long> oids = List.copyOf(heads.keySet());
        if (oids.isEmpty()) {
            return oids;
        }
        Map<Long, List<String>> columns = columns(oids);
        heads.forEach((oid, head) -> {
            ModelBuilder.Relation r = model.relation(oid);
            Draft d = new Draft(r.key(), ObjectKind.TABLE, r.id(),
                    List.of(head[0] + String.join(", ", columns.getOrDefault(oid, List.of())) + head[1]));
            d.after(model.schema(r.id().schema()));
            d.target = "TABLE " + r.name();
            d.relationName = r.name();
            d.owner = head[2];
            model.own(model.add(d), Catalog.PG_CLASS, oid);
        });
        defaults(oids);
        identity(oids);
        checks(oids);
        for (Map.Entry<Long, String> bound : bounds.entrySet()) {
            attach(model.relation(bound.getKey()), bound.getValue());
        }
        identities.forEach((oid, identity) -> {
            if (identity == 'f' || identity == 'n') {
                ModelBuilder.Relation r = model.relation(oid);
                Draft d = new Draft("REPLICA IDENTITY " + r.name(), ObjectKind.REPLICA_IDENTITY, r.id(),
                        List.of("ALTER TABLE ONLY " + r.name() + " REPLICA IDENTITY " + (identity == 'f' ? "FULL" : "NOTHING")));
                model.add(d.after(r.key()));
            }
        });
        return oids;
    }

    /** Each table's column definitions, in order; column options become objects of their own. */
    private Map<Long, List<String>> columns(List<Long> oids) throws SQLException {
        Map<Long, List<String>> definitions = new HashMap<>();
        catalog.query(COLUMNS_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(1));
            String name = rs.getString(3);
            ColumnShaping.Effect effect = model.scope.shaping().effect(r.root(), name);
            if (effect == ColumnShaping.Effect.DROPPED) {
                return;
            }
            dev.scry.backfill.model.ColumnSpec shaped = model.scope.shaping().shaped(r.root(), name);
            boolean retyped = model.scope.shaping().retyped(r.root(), name);
            String column = Identifiers.quote(name);
            StringBuilder def = new StringBuilder(column).append(' ').append(shaped != null ? shaped.type() : rs.getString(4));
            if (rs.getString(6) != null && !retyped) {
                def.append(" COLLATE ").append(rs.getString(6));
            }
            if (shaped != null ? shaped.notNull() : rs.getBoolean(5)) {
                def.append(" NOT NULL");
            }
            definitions.computeIfAbsent(r.oid(), k -> new ArrayList<>()).add(def.toString());
            List<String> options = new ArrayList<>();
            String prefix = "ALTER TABLE ONLY " + r.name() + " ALTER COLUMN " + column;
            if (!retyped && !rs.getString(8).equals(rs.getString(9))) {
                options.add(prefix + " SET STORAGE " + switch (rs.getString(8)) {
                    case "p" -> "PLAIN";
                    case "e" -> "EXTERNAL";
                    case "m" -> "MAIN";
                    default -> "EXTENDED";
                });
            }
            if (rs.getInt(10) >= 0) {
                options.add(prefix + " SET STATISTICS " + rs.getInt(10));
            }
            List<String> attoptions = Catalog.strings(rs.getArray(11));
            if (!attoptions.isEmpty()) {
                options.add(prefix + " SET (" + String.join(", ", attoptions) + ")");
            }
            String compression = rs.getString(12);
            if (!retyped && compression != null && !compression.isEmpty() && !compression.equals("\0")) {
                options.add(prefix + " SET COMPRESSION " + (compression.equals("l") ? "lz4" : "pglz"));
            }
            if (!options.isEmpty()) {
                model.add(new Draft("COLUMN OPTIONS " + r.name() + "." + column, ObjectKind.COLUMN_OPTIONS, r.id(), options).after(r.key()));
            }
        }, oids);
        return definitions;
    }

    private void defaults(List<Long> oids) throws SQLException {
        catalog.query(DEFAULTS_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(2));
            String column = Identifiers.quote(rs.getString(3));
            if (model.scope.shaping().effect(r.root(), rs.getString(3)) == ColumnShaping.Effect.DROPPED) {
                return;
            }
            Draft d = new Draft("DEFAULT " + r.name() + "." + column, ObjectKind.DEFAULT, r.id(),
                    List.of("ALTER TABLE ONLY " + r.name() + " ALTER COLUMN " + column + " SET DEFAULT " + rs.getString(4)));
            model.own(model.add(d.after(r.key())), Catalog.PG_ATTRDEF, rs.getLong(1));
        }, oids);
    }

    private void identity(List<Long> oids) throws SQLException {
        catalog.query(IDENTITY_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(1));
            String name = rs.getString(2);
            String column = Identifiers.quote(name);
            String what = "identity column " + r.name() + "." + column;
            if (model.scope.shaping().effect(r.root(), name) == ColumnShaping.Effect.DROPPED) {
                return;
            }
            if (model.scope.shaping().retyped(r.root(), name)) {
                model.skip(what, "a transform changes the column's type");
                return;
            }
            String options = "SEQUENCE NAME " + rs.getString(5) + " START WITH " + rs.getLong(6) + " INCREMENT BY " + rs.getLong(7)
                    + " MINVALUE " + rs.getLong(8) + " MAXVALUE " + rs.getLong(9) + " CACHE " + rs.getLong(10)
                    + (rs.getBoolean(11) ? " CYCLE" : " NO CYCLE");
            Draft d = new Draft("IDENTITY " + r.name() + "." + column, ObjectKind.IDENTITY, r.id(),
                    List.of("ALTER TABLE ONLY " + r.name() + " ALTER COLUMN " + column + " ADD GENERATED "
                            + ("a".equals(rs.getString(3)) ? "ALWAYS" : "BY DEFAULT") + " AS IDENTITY (" + options + ")"));
            model.own(model.add(d.after(r.key())), Catalog.PG_CLASS, rs.getLong(4));
            model.sequence(rs.getString(5));
        }, oids);
    }

    private void checks(List<Long> oids) throws SQLException {
        catalog.query(CHECKS_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(2));
            String name = Identifiers.quote(rs.getString(3));
            boolean valid = rs.getBoolean(5);
            // A CHECK added NOT VALID was never checked against the source's older rows: added
            // after the load, as pg_dump does, so that those rows load.
            String only = valid || rs.getString(6).charAt(0) != 'p' ? "ALTER TABLE ONLY " : "ALTER TABLE ";
            Draft d = new Draft("CONSTRAINT " + r.name() + "." + name, valid ? ObjectKind.CHECK : ObjectKind.CHECK_NOT_VALID, r.id(),
                    List.of(only + r.name() + " ADD CONSTRAINT " + name + " " + rs.getString(4)));
            d.target = "CONSTRAINT " + name + " ON " + r.name();
            model.own(model.add(d.after(r.key())), Catalog.PG_CONSTRAINT, rs.getLong(1));
        }, oids);
    }

    /** Attached once both tables and their CHECK constraints exist (the partition must have its parent's). */
    private void attach(ModelBuilder.Relation child, String bound) {
        ModelBuilder.Relation parent = model.relation(child.parent());
        Draft d = new Draft("ATTACH PARTITION " + child.name(), ObjectKind.ATTACH_PARTITION, child.id(),
                List.of("ALTER TABLE ONLY " + parent.name() + " ATTACH PARTITION " + child.name() + " " + bound));
        d.after(parent.key()).after(child.key());
        for (Draft other : model.drafts()) {
            if (other.kind == ObjectKind.CHECK && Set.of(parent.id(), child.id()).contains(other.table)) {
                d.after(other.key);
            }
        }
        model.add(d);
    }
}
