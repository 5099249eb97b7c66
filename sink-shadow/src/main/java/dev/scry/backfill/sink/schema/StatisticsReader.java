package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Extended statistics on the tables ({@code CREATE STATISTICS}, with
 * {@code pg_get_statisticsobjdef}) and their statistics targets: what the planner knows about
 * correlated columns shapes the plans a migration is tried against. Built after the load, as
 * pg_dump orders them; the shadow gathers the numbers itself when it analyses.
 */
final class StatisticsReader {

    static final long PG_STATISTIC_EXT = 3381;

    // stxstattarget became nullable (NULL = default) in PostgreSQL 17; -1 before.
    private static final String STATISTICS_SQL = """
            SELECT s.oid, s.stxrelid, format('%I.%I', n.nspname, s.stxname), pg_get_statisticsobjdef(s.oid),
                   coalesce(s.stxstattarget::int, -1), pg_get_userbyid(s.stxowner)
            FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
            WHERE s.stxrelid = ANY (?)
            ORDER BY s.stxrelid, s.stxname""";

    private final Catalog catalog;
    private final ModelBuilder model;

    StatisticsReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    void read(List<Long> relations) throws SQLException {
        if (relations.isEmpty()) {
            return;
        }
        catalog.query(STATISTICS_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(2));
            String name = rs.getString(3);
            List<String> statements = new ArrayList<>(List.of(rs.getString(4)));
            if (rs.getInt(5) >= 0) {
                statements.add("ALTER STATISTICS " + name + " SET STATISTICS " + rs.getInt(5));
            }
            Draft d = new Draft("STATISTICS " + name, ObjectKind.STATISTICS, r.id(), statements);
            d.target = "STATISTICS " + name;
            d.owner = rs.getString(6);
            model.own(model.add(d.after(r.key())), PG_STATISTIC_EXT, rs.getLong(1));
        }, relations);
    }
}
