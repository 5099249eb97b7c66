package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the model's objects depend on, from {@code pg_depend} as pg_dump reads it: the functions and
 * sequences they call are brought in (and what those call, in turn), each object is ordered after
 * the objects it needs, and an object is left out, with the reason, when it needs a relation the
 * pipeline does not copy, a column a transform drops or changes in a way it cannot hold (see
 * {@link SkipRules}), or another object left out.
 */
final class Dependencies {

    private static final String DEPENDS_SQL = """
            SELECT d.classid, d.objid, d.refclassid, d.refobjid, d.refobjsubid, d.deptype,
                   d.refobjid < 16384 OR EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.refclassid AND e.objid = d.refobjid
                                                 AND e.deptype = 'e'),
                   CASE WHEN d.refclassid = 'pg_class'::regclass THEN (SELECT c.relkind FROM pg_class c WHERE c.oid = d.refobjid) END,
                   CASE WHEN d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 THEN
                     (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = d.refobjid AND a.attnum = d.refobjsubid) END,
                   CASE WHEN d.refclassid = 'pg_class'::regclass THEN d.refobjid::regclass::text
                        WHEN d.refclassid = 'pg_proc'::regclass THEN d.refobjid::regprocedure::text END,
                   d.refclassid = 'pg_type'::regclass AND d.refobjid >= 16384 AND NOT EXISTS (
                     SELECT 1 FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid OR c.oid = (SELECT e.typrelid FROM pg_type e WHERE e.oid = t.typelem)
                     WHERE t.oid = d.refobjid AND c.relkind <> 'c')
            FROM pg_depend d
            WHERE (d.classid, d.objid) IN (SELECT * FROM unnest(?::oid[], ?::oid[])) AND d.deptype IN ('n', 'a')""";

    /**
     * @param userType the reference is to a type of its own (not a relation's row type) that
     *                 initdb did not create: the shadow needs it (see {@link SchemaModel#types()})
     */
    private record Edge(String dependent, long refClass, long refObject, int refColumn, char type, boolean builtIn, String relkind,
                        String column, String refName, boolean userType) {
    }

    private static final Set<String> RELATION_KINDS = Set.of("r", "p", "v", "m", "f", "i", "I");

    private final Catalog catalog;
    private final ModelBuilder model;
    private final FunctionReader functions;
    private final SequenceReader sequences;

    Dependencies(Catalog catalog, ModelBuilder model, FunctionReader functions, SequenceReader sequences) {
        this.catalog = catalog;
        this.model = model;
        this.functions = functions;
        this.sequences = sequences;
    }

    /** Brings in what the objects call, orders them, and leaves out what cannot be created. */
    void resolve() throws SQLException {
        List<Edge> edges = new ArrayList<>();
        Set<CatalogRef> read = new HashSet<>();
        Set<Long> tried = new HashSet<>();
        while (true) {
            List<CatalogRef> fresh = model.ownedRefs().stream().filter(r -> !read.contains(r)).toList();
            if (fresh.isEmpty()) {
                break;
            }
            read.addAll(fresh);
            List<Edge> found = edges(fresh);
            edges.addAll(found);
            Set<Long> newFunctions = new LinkedHashSet<>();
            Set<Long> newSequences = new LinkedHashSet<>();
            for (Edge e : found) {
                if (e.builtIn() || model.ownerOf(e.refClass(), e.refObject()) != null || !tried.add(e.refObject())) {
                    continue;
                }
                if (e.refClass() == Catalog.PG_PROC) {
                    newFunctions.add(e.refObject());
                }
                else if (e.refClass() == Catalog.PG_CLASS && "S".equals(e.relkind())) {
                    newSequences.add(e.refObject());
                }
            }
            functions.read(newFunctions);
            sequences.read(newSequences);
        }
        Map<String, String> skip = new LinkedHashMap<>();
        Map<String, Set<ColumnShaping.Effect>> foreignKeyEffects = new HashMap<>();
        for (Edge e : edges) {
            Draft d = model.get(e.dependent());
            if (d == null) {
                continue;
            }
            String owner = model.ownerOf(e.refClass(), e.refObject());
            if (owner != null) {
                // Ownership links (a serial's sequence to its table, an index to its columns) say
                // what goes away with what, not what must exist first.
                if (e.type() == 'n') {
                    d.after(owner);
                }
                ModelBuilder.Relation r = e.refClass() == Catalog.PG_CLASS && e.refColumn() > 0 ? model.relation(e.refObject()) : null;
                if (r != null && r.root() != null && e.column() != null) {
                    ColumnShaping.Effect effect = model.scope.shaping().effect(r.root(), e.column());
                    String why = SkipRules.why(d, effect, model.scope.shaping().retyped(r.root(), e.column()), e.column());
                    if (why != null) {
                        skip.putIfAbsent(d.key, why);
                    }
                    if (d.kind == ObjectKind.FOREIGN_KEY) {
                        foreignKeyEffects.computeIfAbsent(d.key, k -> EnumSet.noneOf(ColumnShaping.Effect.class)).add(effect);
                    }
                }
            }
            else if (!e.builtIn() && e.refClass() == Catalog.PG_CLASS && e.relkind() != null
                    && (RELATION_KINDS.contains(e.relkind()) || "S".equals(e.relkind()))) {
                skip.putIfAbsent(d.key, "it uses " + e.refName() + ", which the pipeline does not copy");
            }
            else if (!e.builtIn() && e.refClass() == Catalog.PG_PROC) {
                skip.putIfAbsent(d.key, "it calls " + e.refName() + ", which is not copied");
            }
        }
        foreignKeyEffects.forEach((key, effects) -> {
            if (effects.contains(ColumnShaping.Effect.HASHED) && effects.size() > 1) {
                skip.putIfAbsent(key, "its columns are hashed on one side only, so the values would not match");
            }
        });
        leaveOut(skip);
        // The types what is left calls for (a function's arguments, a view's casts); a table's
        // column types are the type sync's already, transforms considered.
        for (Edge e : edges) {
            Draft d = model.get(e.dependent());
            if (e.userType() && d != null && d.kind != ObjectKind.TABLE) {
                model.type(e.refObject());
            }
        }
    }

    /** Removes the objects in {@code skip} and, transitively, every object that needs one of them. */
    private void leaveOut(Map<String, String> skip) {
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Draft d : model.drafts()) {
                if (skip.containsKey(d.key)) {
                    continue;
                }
                for (String needed : d.dependsOn) {
                    if (skip.containsKey(needed)) {
                        skip.put(d.key, "it needs " + needed + ", which is not copied");
                        changed = true;
                        break;
                    }
                }
            }
        }
        skip.forEach((key, why) -> {
            Draft d = model.get(key);
            if (d != null && d.kind != ObjectKind.COMMENT && d.kind != ObjectKind.OWNER && d.kind != ObjectKind.PRIVILEGES) {
                model.skip(key, why);
            }
            model.remove(key);
        });
    }

    private List<Edge> edges(List<CatalogRef> refs) throws SQLException {
        List<Edge> out = new ArrayList<>();
        List<Long> classes = new ArrayList<>();
        List<Long> objects = new ArrayList<>();
        refs.forEach(r -> {
            classes.add(r.classId());
            objects.add(r.objectId());
        });
        catalog.query(DEPENDS_SQL, rs -> {
            String dependent = model.ownerOf(rs.getLong(1), rs.getLong(2));
            if (dependent != null) {
                out.add(new Edge(dependent, rs.getLong(3), rs.getLong(4), rs.getInt(5), rs.getString(6).charAt(0), rs.getBoolean(7),
                        rs.getString(8), rs.getString(9), rs.getString(10), rs.getBoolean(11)));
            }
        }, classes, objects);
        return out;
    }
}
