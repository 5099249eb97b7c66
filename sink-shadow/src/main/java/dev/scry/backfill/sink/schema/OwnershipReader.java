package dev.scry.backfill.sink.schema;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.model.Identifiers;

/**
 * Owners and grants ({@code schema.copy-ownership}, {@code schema.copy-privileges}; both off by
 * default): each object's owner as the source has it, and its privileges rebuilt from its ACL
 * ({@code aclexplode}): everything revoked from PUBLIC (and from the owner, when owners are
 * copied), then each grant of the source's ACL, with its grant option, column grants included.
 * Grants made by a role other than the owner are made by the shadow's user instead.
 */
final class OwnershipReader {

    private static final String ACL_SQL = """
            SELECT 'pg_class'::regclass::oid, c.oid, NULL::name, x.grantee, x.privilege_type, x.is_grantable
            FROM pg_class c, aclexplode(c.relacl) x WHERE c.oid = ANY (?)
            UNION ALL
            SELECT 'pg_class'::regclass::oid, a.attrelid, a.attname, x.grantee, x.privilege_type, x.is_grantable
            FROM pg_attribute a, aclexplode(a.attacl) x WHERE a.attrelid = ANY (?) AND NOT a.attisdropped AND a.attnum > 0
            UNION ALL
            SELECT 'pg_proc'::regclass::oid, p.oid, NULL, x.grantee, x.privilege_type, x.is_grantable
            FROM pg_proc p, aclexplode(p.proacl) x WHERE p.oid = ANY (?)
            UNION ALL
            SELECT 'pg_namespace'::regclass::oid, n.oid, NULL, x.grantee, x.privilege_type, x.is_grantable
            FROM pg_namespace n, aclexplode(n.nspacl) x WHERE n.oid = ANY (?)""";

    private static final String ROLE_SQL = "SELECT oid, rolname FROM pg_roles";

    private final Catalog catalog;
    private final ModelBuilder model;
    private final Set<String> roles = new LinkedHashSet<>();

    OwnershipReader(Catalog catalog, ModelBuilder model) {
        this.catalog = catalog;
        this.model = model;
    }

    /** The roles the owners and grants name: they must exist on the shadow. */
    Set<String> roles() {
        return roles;
    }

    void read() throws SQLException {
        SchemaSettings settings = model.scope.settings();
        List<Draft> owned = model.drafts().stream().filter(d -> d.owner != null && d.target != null && !d.owns.isEmpty()).toList();
        if (settings.copyOwnership()) {
            for (Draft d : owned) {
                roles.add(d.owner);
                Draft owner = new Draft("OWNER OF " + d.key, ObjectKind.OWNER, d.table,
                        List.of("ALTER " + d.target + " OWNER TO " + Identifiers.quote(d.owner)));
                owner.section = d.section;
                model.add(owner.after(d.key));
            }
        }
        if (!settings.copyPrivileges() || owned.isEmpty()) {
            return;
        }
        Map<CatalogRef, Draft> byRef = new HashMap<>();
        Map<Long, List<Long>> oids = new HashMap<>();
        for (Draft d : owned) {
            CatalogRef ref = d.owns.iterator().next();
            byRef.put(ref, d);
            oids.computeIfAbsent(ref.classId(), k -> new ArrayList<>()).add(ref.objectId());
        }
        Map<Long, String> names = new HashMap<>();
        catalog.query(ROLE_SQL, rs -> names.put(rs.getLong(1), rs.getString(2)));
        Map<Draft, List<String>> grants = new LinkedHashMap<>();
        catalog.query(ACL_SQL, rs -> {
            Draft d = byRef.get(new CatalogRef(rs.getLong(1), rs.getLong(2)));
            if (d == null) {
                return;
            }
            long grantee = rs.getLong(4);
            String role = grantee == 0 ? "PUBLIC" : names.get(grantee);
            if (grantee != 0) {
                roles.add(role);
            }
            String column = rs.getString(3);
            String on = grantTarget(d);
            grants.computeIfAbsent(d, k -> new ArrayList<>()).add("GRANT " + rs.getString(5)
                    + (column == null ? "" : " (" + Identifiers.quote(column) + ")") + " ON " + on + " TO "
                    + (grantee == 0 ? "PUBLIC" : Identifiers.quote(role)) + (rs.getBoolean(6) ? " WITH GRANT OPTION" : ""));
        }, oids.getOrDefault(Catalog.PG_CLASS, List.of()), oids.getOrDefault(Catalog.PG_CLASS, List.of()),
                oids.getOrDefault(Catalog.PG_PROC, List.of()), oids.getOrDefault(Catalog.PG_NAMESPACE, List.of()));
        grants.forEach((d, statements) -> {
            List<String> all = new ArrayList<>();
            all.add("REVOKE ALL ON " + grantTarget(d) + " FROM PUBLIC");
            if (settings.copyOwnership()) {
                all.add("REVOKE ALL ON " + grantTarget(d) + " FROM " + Identifiers.quote(d.owner));
            }
            all.addAll(statements);
            Draft privileges = new Draft("PRIVILEGES ON " + d.key, ObjectKind.PRIVILEGES, d.table, all);
            privileges.section = d.section;
            privileges.after(d.key).after(settings.copyOwnership() ? "OWNER OF " + d.key : null);
            model.add(privileges);
        });
    }

    /** GRANT names views and materialized views as tables. */
    private static String grantTarget(Draft d) {
        return d.relationName != null ? "TABLE " + d.relationName : d.target;
    }
}
