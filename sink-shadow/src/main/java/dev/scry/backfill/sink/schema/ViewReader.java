package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * The views and materialized views of the schemas a pattern takes whole, with
 * {@code pg_get_viewdef}: views with their options and check option, materialized views WITH NO
 * DATA and refreshed (if the source's is populated) once the rows are in and their indexes built.
 * One that reads a relation the pipeline does not copy is left out (see {@link Dependencies}).
 */
final class ViewReader {

    private static final String VIEWS_SQL = """
            SELECT c.oid, n.nspname, c.relname, c.oid::regclass::text, c.relkind, pg_get_viewdef(c.oid), c.reloptions, am.amname,
                   c.relispopulated, r.oid, pg_get_userbyid(c.relowner)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_am am ON am.oid = c.relam
            LEFT JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
            WHERE n.nspname = ANY (?) AND c.relkind IN ('v', 'm')
              AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
            ORDER BY n.nspname, c.relname""";

    private final Catalog catalog;
    private final ModelBuilder model;

    ViewReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    /** Returns the OIDs of the views and materialized views read. */
    List<Long> read() throws SQLException {
        List<Long> oids = new ArrayList<>();
        if (model.scope.wholeSchemas().isEmpty()) {
            return oids;
        }
        catalog.query(VIEWS_SQL, rs -> {
            char kind = rs.getString(5).charAt(0);
            ModelBuilder.Relation r = new ModelBuilder.Relation(rs.getLong(1), new TableId(rs.getString(2), rs.getString(3)), rs.getString(4),
                    kind, null, 0);
            model.relation(r);
            String query = rs.getString(6).strip();
            query = query.endsWith(";") ? query.substring(0, query.length() - 1) : query;
            List<String> options = new ArrayList<>();
            String checkOption = null;
            for (String o : Catalog.strings(rs.getArray(7))) {
                if (o.startsWith("check_option=")) {
                    checkOption = o.substring("check_option=".length()).toUpperCase(java.util.Locale.ROOT);
                }
                else {
                    options.add(o);
                }
            }
            Draft d;
            if (kind == 'v') {
                d = new Draft(r.key(), ObjectKind.VIEW, r.id(), List.of("CREATE VIEW " + r.name() + Catalog.withOptions(options) + " AS "
                        + query + (checkOption == null ? "" : " WITH " + checkOption + " CHECK OPTION")));
                d.target = "VIEW " + r.name();
            }
            else {
                String am = rs.getString(8);
                d = new Draft(r.key(), ObjectKind.MATERIALIZED_VIEW, r.id(), List.of("CREATE MATERIALIZED VIEW " + r.name()
                        + (am == null || am.equals("heap") ? "" : " USING " + Identifiers.quote(am)) + Catalog.withOptions(options) + " AS "
                        + query + " WITH NO DATA"));
                d.target = "MATERIALIZED VIEW " + r.name();
                if (rs.getBoolean(9)) {
                    Draft refresh = new Draft("REFRESH " + r.name(), ObjectKind.REFRESH, r.id(), List.of("REFRESH MATERIALIZED VIEW " + r.name()));
                    model.add(refresh.after(r.key()));
                }
            }
            d.relationName = r.name();
            d.owner = rs.getString(11);
            d.after(model.schema(r.id().schema()));
            model.own(d, Catalog.PG_CLASS, r.oid());
            if (rs.getObject(10) != null) {
                model.own(d, Catalog.PG_REWRITE, rs.getLong(10));
            }
            model.add(d);
            oids.add(r.oid());
        }, model.scope.wholeSchemas());
        return oids;
    }
}
