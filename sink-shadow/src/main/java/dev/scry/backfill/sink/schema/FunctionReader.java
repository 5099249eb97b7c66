package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Functions and procedures with {@code pg_get_functiondef}: those of the schemas a pattern takes
 * whole, and any other the copied objects call (defaults, checks, triggers, index expressions,
 * views). Created with {@code check_function_bodies = off}, as pg_restore does, so that a body may
 * name tables created later. Only SQL and PL/pgSQL ones: an aggregate has no
 * {@code pg_get_functiondef}, and another language needs an extension or a shared library the
 * shadow may lack; those are left out, and so is what calls them.
 */
final class FunctionReader {

    private static final String WHOLE_SCHEMAS_SQL = """
            SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY (?)
              AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e')
            ORDER BY p.oid""";

    private static final String FUNCTIONS_SQL = """
            SELECT p.oid, p.oid::regprocedure::text, p.prokind, l.lanname,
                   CASE WHEN p.prokind IN ('f', 'p') AND l.lanname IN ('sql', 'plpgsql') THEN pg_get_functiondef(p.oid) END,
                   n.nspname, pg_get_userbyid(p.proowner)
            FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.oid = ANY (?)""";

    private final Catalog catalog;
    private final ModelBuilder model;

    FunctionReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    /** The functions and procedures of the schemas a pattern takes whole. */
    List<Long> wholeSchemas() throws SQLException {
        List<Long> oids = new ArrayList<>();
        if (!model.scope.wholeSchemas().isEmpty()) {
            catalog.query(WHOLE_SCHEMAS_SQL, rs -> oids.add(rs.getLong(1)), model.scope.wholeSchemas());
        }
        return oids;
    }

    void read(Collection<Long> oids) throws SQLException {
        if (oids.isEmpty()) {
            return;
        }
        catalog.query(FUNCTIONS_SQL, rs -> {
            String signature = rs.getString(2);
            String kind = rs.getString(3);
            String keyword = "p".equals(kind) ? "PROCEDURE" : "FUNCTION";
            if (rs.getString(5) == null) {
                model.skip(keyword.toLowerCase(java.util.Locale.ROOT) + " " + signature, "a".equals(kind) || "w".equals(kind)
                        ? "aggregate and window functions are not copied"
                        : "it is written in " + rs.getString(4) + "; only SQL and PL/pgSQL functions are copied");
                return;
            }
            Draft d = new Draft(keyword + " " + signature, ObjectKind.FUNCTION, null, List.of(rs.getString(5)));
            d.target = keyword + " " + signature;
            d.owner = rs.getString(7);
            d.after(model.schema(rs.getString(6)));
            model.own(model.add(d), Catalog.PG_PROC, rs.getLong(1));
        }, oids);
    }
}
