package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.model.Identifiers;

/**
 * Keys and indexes, the pg_dump way: primary keys, UNIQUE and EXCLUDE constraints as
 * {@code ALTER TABLE ONLY ... ADD CONSTRAINT} with {@code pg_get_constraintdef}, every other index
 * with {@code pg_get_indexdef} (any access method, partial, expression, INCLUDE). On a
 * partitioned table the index goes on the parent alone ({@code ON ONLY}), each partition gets its
 * own under its own name, and {@code ALTER INDEX ... ATTACH PARTITION} joins them, so every name
 * matches the source's. Replica identity by index and clustering follow their index.
 */
final class IndexReader {

    private static final String INDEXES_SQL = """
            SELECT i.indexrelid, i.indrelid, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
                   i.indisvalid OR c.relkind = 'p', i.indisreplident, i.indisclustered,
                   i.indexprs IS NULL AND i.indpred IS NULL, i.indisunique,
                   k.oid, k.conname, k.contype, pg_get_constraintdef(k.oid),
                   (SELECT h.inhparent FROM pg_inherits h WHERE h.inhrelid = i.indexrelid),
                   ARRAY(SELECT a.attname FROM unnest(i.indkey[0:i.indnkeyatts - 1]) AS u(attnum)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.attnum)::text[],
                   quote_ident(ic.relname)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
            LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
            WHERE i.indrelid = ANY (?)
            ORDER BY i.indrelid, i.indexrelid""";

    private final Catalog catalog;
    private final ModelBuilder model;

    IndexReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    /** Reads the indexes of {@code relations} (tables, partitions, materialized views). */
    void read(List<Long> relations) throws SQLException {
        if (relations.isEmpty()) {
            return;
        }
        Map<Long, String> keyOfIndex = new HashMap<>();
        Map<Long, Long> parentIndex = new HashMap<>();
        Map<Long, String> nameOfIndex = new HashMap<>();
        catalog.query(INDEXES_SQL, rs -> {
            ModelBuilder.Relation r = model.relation(rs.getLong(2));
            long index = rs.getLong(1);
            String name = rs.getString(3);
            if (!rs.getBoolean(5)) {
                model.skip("index " + name, "it is not valid on the source (a failed CREATE INDEX CONCURRENTLY?)");
                return;
            }
            Draft d;
            String contype = rs.getString(12);
            if (contype != null) {
                String constraint = Identifiers.quote(rs.getString(11));
                d = new Draft("CONSTRAINT " + r.name() + "." + constraint, "p".equals(contype) ? ObjectKind.PRIMARY_KEY : ObjectKind.CONSTRAINT,
                        r.id(), List.of("ALTER TABLE ONLY " + r.name() + " ADD CONSTRAINT " + constraint + " " + rs.getString(13)));
                d.target = "CONSTRAINT " + constraint + " ON " + r.name();
                d.plainColumns = !"x".equals(contype) && rs.getBoolean(8);
                model.own(d, Catalog.PG_CONSTRAINT, rs.getLong(10));
            }
            else {
                d = new Draft("INDEX " + name, ObjectKind.INDEX, r.id(), List.of(rs.getString(4)));
                d.target = "INDEX " + name;
                d.plainColumns = rs.getBoolean(8);
            }
            d.unique = rs.getBoolean(9);
            if (d.plainColumns && d.unique) {
                d.keyColumns = Catalog.strings(rs.getArray(15));
            }
            d.after(r.key());
            model.own(model.add(d), Catalog.PG_CLASS, index);
            keyOfIndex.put(index, d.key);
            nameOfIndex.put(index, name);
            if (rs.getObject(14) != null) {
                parentIndex.put(index, rs.getLong(14));
            }
            if (rs.getBoolean(6)) {
                model.add(new Draft("REPLICA IDENTITY " + r.name(), ObjectKind.REPLICA_IDENTITY, r.id(),
                        List.of("ALTER TABLE ONLY " + r.name() + " REPLICA IDENTITY USING INDEX " + rs.getString(16))).after(d.key));
            }
            if (rs.getBoolean(7)) {
                model.add(new Draft("CLUSTER " + r.name(), ObjectKind.CLUSTER, r.id(),
                        List.of("ALTER TABLE " + r.name() + " CLUSTER ON " + rs.getString(16))).after(d.key));
            }
        }, relations);
        parentIndex.forEach((child, parent) -> {
            if (keyOfIndex.containsKey(parent)) {
                String childName = nameOfIndex.get(child);
                Draft d = new Draft("ATTACH INDEX " + childName, ObjectKind.ATTACH_INDEX, model.get(keyOfIndex.get(child)).table,
                        List.of("ALTER INDEX " + nameOfIndex.get(parent) + " ATTACH PARTITION " + childName));
                model.add(d.after(keyOfIndex.get(parent)).after(keyOfIndex.get(child)));
            }
        });
    }
}
