package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableId;

/**
 * Creates on the shadow the types that the copied columns need and the shadow lacks, as the
 * source defines them, before any table that uses them, so that the shadow's columns have the same
 * declared types and the apply casts ({@code CAST(text AS "Mood")}) read the same values:
 * <ul>
 * <li>extensions the types come from ({@code CREATE EXTENSION}, in the source's schema and, where
 * the shadow's server offers it, the source's version; extensions they require first);</li>
 * <li>enums with their labels in order (labels the source gained since are added at the same
 * place in the order);</li>
 * <li>domains with their base type, collation, default, NOT NULL and CHECK constraints;</li>
 * <li>composite types with their attributes' types and collations (a table's row type: that
 * table, with its columns only);</li>
 * <li>range types with their subtype, operator class, collation, canonical and subtype_diff
 * functions and the name of their multirange.</li>
 * </ul>
 * Whatever these are made of comes first (a composite of a domain over an enum in an array...).
 * Reads the source's catalog; writes only the shadow. A type or extension the shadow already has is
 * left as it is (an enum gains missing labels).
 *
 * <p>Entry points: {@link #check} before anything is written (an extension the shadow's server
 * cannot install is a {@link SetupException} naming it), then {@link #ensure(Connection, Connection,
 * Map)} for the columns of tables, {@link #ensure(Connection, Connection, List)} for whole tables,
 * or {@link #ensureTypes} for any set of the source's types (the schema sync's functions,
 * sequences...). Each checks before it creates and commits on its own, or joins the caller's
 * transaction when the shadow connection has one open.
 */
public final class ShadowTypes {

    private static final Logger LOG = LoggerFactory.getLogger(ShadowTypes.class);

    private ShadowTypes() {
    }

    /**
     * Read-only: refuses, naming each, the extensions the shadow lacks and its server cannot
     * install (not available, or needing a superuser the shadow's user is not), and user base types
     * (defined outside any extension, in C) that the shadow lacks.
     *
     * @param columnsByTable source relation OID to the names of its columns whose type reaches
     *                       the shadow (columns a transform drops or turns into text need nothing)
     */
    public static void check(Connection source, Connection shadow, Map<Long, ? extends Collection<String>> columnsByTable)
            throws SQLException {
        check(shadow, SourceTypes.read(source, typesOf(source, columnsByTable)));
    }

    /** Read-only: as {@link #check(Connection, Connection, Map)}, for any set of the source's types. */
    public static void checkTypes(Connection source, Connection shadow, Collection<Long> typeOids) throws SQLException {
        check(shadow, SourceTypes.read(source, typeOids));
    }

    /** Ensures the types of every column of the source relations {@code tableOids}. */
    public static void ensure(Connection source, Connection shadow, List<Long> tableOids) throws SQLException {
        List<Long> types = new ArrayList<>();
        for (long table : tableOids) {
            types.addAll(SourceTypes.ofColumns(source, table, null));
        }
        ensureTypes(source, shadow, types);
    }

    /** Ensures the types of the given columns (see {@link #check(Connection, Connection, Map)}). */
    public static void ensure(Connection source, Connection shadow, Map<Long, ? extends Collection<String>> columnsByTable)
            throws SQLException {
        ensureTypes(source, shadow, typesOf(source, columnsByTable));
    }

    /** Ensures the given source types (by OID) and whatever they are made of exist on the shadow. */
    public static void ensureTypes(Connection source, Connection shadow, Collection<Long> typeOids) throws SQLException {
        SourceTypes.Plan plan = SourceTypes.read(source, typeOids);
        check(shadow, plan);
        for (SourceTypes.Extension extension : plan.extensions()) {
            ShadowExtensions.ensure(shadow, extension);
        }
        for (SourceTypes.UserType type : plan.types()) {
            if (type.isArray() || type.kind() == 'm') {
                continue; // created with their element type, their range
            }
            if (type.kind() == 'e') {
                ensureEnum(source, shadow, type);
                continue;
            }
            if (exists(shadow, type.name())) {
                continue;
            }
            List<String> statements = switch (type.kind()) {
                case 'd' -> TypeDefinitions.domain(source, type);
                case 'c' -> TypeDefinitions.composite(source, type);
                case 'r' -> TypeDefinitions.range(source, type);
                default -> List.of(); // a base type outside an extension: check() refused it
            };
            create(shadow, type.name(), statements);
        }
    }

    private static void check(Connection shadow, SourceTypes.Plan plan) throws SQLException {
        List<String> problems = new ArrayList<>(ShadowExtensions.problems(shadow, plan.extensions()));
        for (SourceTypes.UserType type : plan.types()) {
            if (type.kind() == 'b' && !type.isArray() && !exists(shadow, type.name())) {
                problems.add("type " + type.name() + " is a base type the source defines outside any extension (with"
                        + " functions written in C), which the shadow lacks; create it on the shadow as on the source, then run again");
            }
            if (type.kind() == 'c' && type.relkind() != 'c' && type.relkind() != 'r' && type.relkind() != 'p'
                    && !exists(shadow, type.name())) {
                problems.add("type " + type.name() + " is the row type of a view or foreign table on the source, which the shadow"
                        + " lacks; create it on the shadow, then run again");
            }
        }
        if (!problems.isEmpty()) {
            throw SetupException.ofAll("the shadow cannot hold the source's types", problems);
        }
    }

    private static List<Long> typesOf(Connection source, Map<Long, ? extends Collection<String>> columnsByTable) throws SQLException {
        Set<Long> types = new LinkedHashSet<>();
        for (Map.Entry<Long, ? extends Collection<String>> table : columnsByTable.entrySet()) {
            types.addAll(SourceTypes.ofColumns(source, table.getKey(), table.getValue()));
        }
        return List.copyOf(types);
    }

    private static void create(Connection shadow, TableId name, List<String> statements) throws SQLException {
        List<String> all = new ArrayList<>();
        all.add("CREATE SCHEMA IF NOT EXISTS " + Identifiers.quote(name.schema()));
        // A function's body may use objects created later (pg_dump does the same).
        all.add("SET LOCAL check_function_bodies = off");
        all.addAll(statements);
        try {
            inTransaction(shadow, all);
        }
        catch (SQLException e) {
            throw new SetupException("cannot create type " + name + " on the shadow as the source defines it: " + SqlErrors.describe(e)
                    + "; create it on the shadow by hand, then run again", e);
        }
        LOG.info("created type {} on the shadow", name);
    }

    private static void ensureEnum(Connection source, Connection shadow, SourceTypes.UserType type) throws SQLException {
        List<String> labels = TypeDefinitions.enumLabels(source, type.oid());
        TableId name = type.name();
        if (!exists(shadow, name)) {
            String list = String.join(", ", labels.stream().map(Identifiers::literal).toList());
            create(shadow, name, List.of("CREATE TYPE " + name.quoted() + " AS ENUM (" + list + ")"));
            return;
        }
        List<String> have = TypeDefinitions.enumLabels(shadow, name);
        List<String> statements = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            String label = labels.get(i);
            if (have.contains(label)) {
                continue;
            }
            // Placed right after the label that precedes it on the source (present on the shadow
            // by now), so the shadow sorts the enum's values as the source does.
            String where = i > 0 ? " AFTER " + Identifiers.literal(labels.get(i - 1))
                    : have.isEmpty() ? "" : " BEFORE " + Identifiers.literal(have.get(0));
            statements.add("ALTER TYPE " + name.quoted() + " ADD VALUE " + Identifiers.literal(label) + where);
            LOG.info("adding label {} to enum {} on the shadow", label, name);
        }
        if (!statements.isEmpty()) {
            inTransaction(shadow, statements);
        }
    }

    private static boolean exists(Connection shadow, TableId type) throws SQLException {
        try (PreparedStatement ps = shadow.prepareStatement(
                "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ? AND t.typname = ?")) {
            ps.setString(1, type.schema());
            ps.setString(2, type.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /**
     * All or nothing: a domain is never left on the shadow without its constraints. Inside a
     * caller's transaction the statements simply join it.
     */
    static void inTransaction(Connection shadow, List<String> statements) throws SQLException {
        boolean autoCommit = shadow.getAutoCommit();
        shadow.setAutoCommit(false);
        try (Statement st = shadow.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
            if (autoCommit) {
                shadow.commit();
            }
        }
        catch (SQLException e) {
            if (autoCommit) {
                shadow.rollback();
            }
            throw e;
        }
        finally {
            shadow.setAutoCommit(autoCommit);
        }
    }
}
