package dev.scry.backfill.sink.schema;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.error.SqlErrors;

/**
 * The source's and the shadow's schema of the configured tables, compared object by object: what
 * the shadow lacks, has in excess, or defines differently ({@code verify --schema}, the drift
 * check). {@link #reconcile} makes the shadow the source's where that cannot touch a row: indexes,
 * constraints, defaults, views, functions, triggers, statistics, comments and partitions. What it
 * leaves (a column's type or NOT NULL, a rename) is reported: those reach the shadow in order with
 * the rows only through DDL capture (or the stream's own relation messages, for columns).
 */
public final class SchemaDrift {

    /** How an object differs. */
    public enum Kind {
        MISSING("missing on the shadow"), EXTRA("extra on the shadow"), DIFFERENT("different on the shadow");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** One object that differs, with both definitions (null on the side that lacks it). */
    public record Difference(Kind kind, String key, ObjectKind objectKind, String source, String shadow) {

        /** Whether the drift check can make the shadow's the source's. */
        public boolean followable() {
            if (objectKind == ObjectKind.TABLE) {
                return false;
            }
            if (kind == Kind.EXTRA && (objectKind == ObjectKind.ATTACH_INDEX || objectKind == ObjectKind.SEQUENCE)) {
                return false;
            }
            return FOLLOWED.contains(objectKind);
        }

        public String describe() {
            return key + " " + kind.label();
        }
    }

    /** What a comparison found; {@link #equal} when nothing. */
    public record Report(List<Difference> differences) {

        public Report {
            differences = List.copyOf(differences);
        }

        public boolean equal() {
            return differences.isEmpty();
        }

        public List<Difference> of(Kind kind) {
            return differences.stream().filter(d -> d.kind() == kind).toList();
        }
    }

    /** A drift check's outcome: what it applied, what failed (and why), what is left, and every object the source has. */
    public record Outcome(List<String> applied, Map<String, String> failed, Report left, Set<String> sourceKeys) {

        /** Only a comparison, nothing applied. */
        public static Outcome compared(SchemaModel source, SchemaModel shadow, SchemaSettings settings) {
            return new Outcome(List.of(), Map.of(), compare(source, shadow, settings), keys(source));
        }
    }

    private static Set<String> keys(SchemaModel model) {
        Set<String> out = new java.util.LinkedHashSet<>();
        model.objects().forEach(o -> out.add(o.key()));
        return out;
    }

    private static final Set<ObjectKind> FOLLOWED = EnumSet.of(ObjectKind.INDEX, ObjectKind.ATTACH_INDEX, ObjectKind.CONSTRAINT,
            ObjectKind.CHECK, ObjectKind.CHECK_NOT_VALID, ObjectKind.FOREIGN_KEY, ObjectKind.DEFAULT, ObjectKind.VIEW,
            ObjectKind.FUNCTION, ObjectKind.TRIGGER, ObjectKind.COMMENT, ObjectKind.STATISTICS, ObjectKind.ATTACH_PARTITION,
            ObjectKind.SEQUENCE);

    private SchemaDrift() {
    }

    /** Compares the source's model with the shadow's. */
    public static Report compare(SchemaModel source, SchemaModel shadow, SchemaSettings settings) {
        List<Difference> out = new ArrayList<>();
        for (SchemaObject o : source.objects()) {
            if (ignored(o.kind(), settings)) {
                continue;
            }
            SchemaObject there = shadow.get(o.key());
            if (there == null) {
                out.add(new Difference(Kind.MISSING, o.key(), o.kind(), o.definition(), null));
            }
            else if (!o.definition().equals(there.definition())) {
                out.add(new Difference(Kind.DIFFERENT, o.key(), o.kind(), o.definition(), there.definition()));
            }
        }
        for (SchemaObject o : shadow.objects()) {
            if (!ignored(o.kind(), settings) && source.get(o.key()) == null) {
                out.add(new Difference(Kind.EXTRA, o.key(), o.kind(), null, o.definition()));
            }
        }
        return new Report(out);
    }

    private static boolean ignored(ObjectKind kind, SchemaSettings settings) {
        return kind == ObjectKind.SCHEMA || kind == ObjectKind.REFRESH
                || kind == ObjectKind.OWNER && !settings.copyOwnership() || kind == ObjectKind.PRIVILEGES && !settings.copyPrivileges();
    }

    /**
     * Makes the shadow's followable objects the source's, each in a savepoint of one shadow
     * transaction (one that fails is reported, the others commit), then compares again.
     */
    public static Outcome reconcile(SchemaSync sync, Connection source, Connection shadow) throws SQLException {
        return reconcile(sync, sync.read(source), shadow, () -> true, key -> true);
    }

    /** Checked once both sides are read and before anything is applied. */
    public interface Gate {
        /** Whether the shadow's rows have caught up with the source's catalog as read; false: only report this time. */
        boolean mayApply() throws SQLException;
    }

    /**
     * As {@link #reconcile(SchemaSync, Connection, Connection)} towards {@code wanted}, the
     * source's schema as {@code sync} read it, applying only when {@code gate} says so (a
     * constraint the source has now may not hold yet for rows the stream still brings), and
     * dropping only the shadow's extra objects {@code dropped} says the source dropped: one the
     * source never had is someone's work on the shadow (a migration being tried), reported and
     * left alone.
     */
    public static Outcome reconcile(SchemaSync sync, SchemaModel wanted, Connection shadow, Gate gate,
                                    java.util.function.Predicate<String> dropped) throws SQLException {
        SchemaModel existing = sync.read(shadow);
        Report before = compare(wanted, existing, sync.scope().settings() == null ? SchemaSettings.DEFAULT : sync.scope().settings());
        List<String> applied = new ArrayList<>();
        Map<String, String> failed = new LinkedHashMap<>();
        // A partition the shadow lacks is created whatever the gate says: rows for it can only
        // be on their way if the source has it, and without it they cannot be written at all.
        boolean partitions = before.differences().stream().anyMatch(d -> d.kind() == Kind.MISSING && newPartition(wanted, wanted.get(d.key())));
        boolean mayApply = before.differences().stream().anyMatch(Difference::followable) && gate.mayApply();
        if (partitions || mayApply) {
            boolean auto = shadow.getAutoCommit();
            shadow.setAutoCommit(false);
            try (Statement st = shadow.createStatement()) {
                st.execute("SET LOCAL check_function_bodies = off");
                List<SchemaObject> extras = new ArrayList<>(existing.objects());
                java.util.Collections.reverse(extras);
                for (SchemaObject o : extras) {
                    Difference d = find(before, Kind.EXTRA, o.key());
                    if (mayApply && d != null && d.followable() && dropped.test(o.key())) {
                        run(shadow, o.key(), List.of(drop(o)), applied, failed);
                    }
                }
                for (SchemaObject o : wanted.objects()) {
                    Difference d = find(before, Kind.DIFFERENT, o.key());
                    if (mayApply && d != null && d.followable()) {
                        SchemaObject old = existing.get(o.key());
                        List<String> replace = new ArrayList<>();
                        if (o.kind() != ObjectKind.VIEW && o.kind() != ObjectKind.FUNCTION && o.kind() != ObjectKind.COMMENT) {
                            replace.add(drop(old));
                        }
                        replace.addAll(o.kind() == ObjectKind.VIEW ? orReplace(o.statements()) : o.statements());
                        if (!run(shadow, o.key(), replace, applied, failed) && (o.kind() == ObjectKind.VIEW || o.kind() == ObjectKind.FUNCTION)) {
                            // A view's columns or a function's result type changed: only dropping it does.
                            failed.remove(o.key());
                            List<String> again = new ArrayList<>();
                            again.add(drop(old));
                            again.addAll(o.statements());
                            run(shadow, o.key(), again, applied, failed);
                        }
                    }
                    d = find(before, Kind.MISSING, o.key());
                    if (d != null && (mayApply && d.followable() || newPartition(wanted, o))) {
                        run(shadow, o.key(), o.statements(), applied, failed);
                    }
                }
                shadow.commit();
            }
            catch (SQLException | RuntimeException e) {
                shadow.rollback();
                throw e;
            }
            finally {
                shadow.setAutoCommit(auto);
            }
        }
        Report left = applied.isEmpty() ? before : compare(wanted, sync.read(shadow),
                sync.scope().settings() == null ? SchemaSettings.DEFAULT : sync.scope().settings());
        return new Outcome(applied, failed, left, keys(wanted));
    }

    /** A partition of the source's (its table or its attachment): what its rows need on the shadow. */
    private static boolean newPartition(SchemaModel wanted, SchemaObject o) {
        if (o == null) {
            return false;
        }
        if (o.kind() == ObjectKind.ATTACH_PARTITION) {
            return true;
        }
        return o.kind() == ObjectKind.TABLE && o.table() != null && wanted.get("ATTACH PARTITION " + o.key().substring("TABLE ".length())) != null;
    }

    private static Difference find(Report report, Kind kind, String key) {
        for (Difference d : report.differences()) {
            if (d.kind() == kind && d.key().equals(key)) {
                return d;
            }
        }
        return null;
    }

    private static boolean run(Connection shadow, String key, List<String> statements, List<String> applied, Map<String, String> failed)
            throws SQLException {
        Savepoint savepoint = shadow.setSavepoint();
        try (Statement st = shadow.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
            shadow.releaseSavepoint(savepoint);
            applied.add(key);
            return true;
        }
        catch (SQLException e) {
            if (SqlErrors.isTransient(e)) {
                throw e;
            }
            shadow.rollback(savepoint);
            failed.put(key, SqlErrors.describe(e));
            return false;
        }
    }

    private static List<String> orReplace(List<String> statements) {
        return statements.stream().map(s -> s.startsWith("CREATE VIEW ") ? "CREATE OR REPLACE VIEW " + s.substring("CREATE VIEW ".length()) : s)
                .toList();
    }

    /** The statement that removes an object the shadow has and the source does not. */
    static String drop(SchemaObject o) {
        String first = o.statements().get(0);
        return switch (o.kind()) {
            case DEFAULT -> first.substring(0, first.indexOf(" SET DEFAULT ")) + " DROP DEFAULT";
            case COMMENT -> o.key() + " IS NULL";
            case ATTACH_PARTITION -> first.substring(0, first.indexOf(" ATTACH PARTITION ")).replace("ALTER TABLE ONLY ", "ALTER TABLE ")
                    + " DETACH PARTITION " + o.table().quoted();
            case CONSTRAINT, PRIMARY_KEY, CHECK, CHECK_NOT_VALID, FOREIGN_KEY -> {
                String t = o.target().substring("CONSTRAINT ".length());
                int on = t.indexOf(" ON ");
                yield "ALTER TABLE " + t.substring(on + 4) + " DROP CONSTRAINT " + t.substring(0, on);
            }
            default -> {
                if (o.target() == null) {
                    throw new IllegalArgumentException("no way to drop " + o.key());
                }
                yield "DROP " + o.target();
            }
        };
    }
}
