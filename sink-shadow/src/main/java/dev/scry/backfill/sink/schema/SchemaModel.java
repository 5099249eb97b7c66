package dev.scry.backfill.sink.schema;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One database's schema objects for a scope, in the order they can be created: pre-data first,
 * then post-data, each ordered by its dependencies. Read from the source it is what the shadow
 * should have; read from the shadow, what it has. {@link #diff} compares the two by key.
 */
public final class SchemaModel {

    private final List<SchemaObject> objects;
    private final Map<String, SchemaObject> byKey = new LinkedHashMap<>();
    private final Map<String, String> leftOut;
    private final List<String> notes;
    private final Set<String> roles;
    private final List<String> sequences;
    private final List<Long> types;

    SchemaModel(List<SchemaObject> objects, Map<String, String> leftOut, List<String> notes, Set<String> roles, Set<String> sequences,
                Set<Long> types) {
        List<SchemaObject> ordered = new ArrayList<>(DependencyOrder.sort(objects.stream()
                .filter(o -> o.section() == ObjectKind.Section.PRE_DATA).toList()));
        ordered.addAll(DependencyOrder.sort(objects.stream().filter(o -> o.section() == ObjectKind.Section.POST_DATA).toList()));
        this.objects = List.copyOf(ordered);
        this.objects.forEach(o -> byKey.put(o.key(), o));
        this.leftOut = Map.copyOf(leftOut);
        this.notes = List.copyOf(notes);
        this.roles = Set.copyOf(roles);
        this.types = List.copyOf(types);
        // Only those the model still creates (a sequence whose object was left out is not the shadow's).
        this.sequences = sequences.stream().filter(n -> byKey.containsKey("SEQUENCE " + n)
                || objects.stream().anyMatch(o -> o.kind() == ObjectKind.IDENTITY && o.statements().get(0).contains("SEQUENCE NAME " + n + " "))).toList();
    }

    /**
     * Types (OIDs in the database read) that objects besides the tables' columns use: a function's
     * arguments, a view's casts. The shadow must have them before the objects are created
     * (ShadowTypes creates them, and the extensions they come from).
     */
    public List<Long> types() {
        return types;
    }

    /** The sequences the shadow gets (identity columns' included), as their qualified names. */
    public List<String> sequences() {
        return sequences;
    }

    /** Every object, in creation order. */
    public List<SchemaObject> objects() {
        return objects;
    }

    public List<SchemaObject> objects(ObjectKind.Section section) {
        return objects.stream().filter(o -> o.section() == section).toList();
    }

    public SchemaObject get(String key) {
        return byKey.get(key);
    }

    /** Objects in the scope that the model leaves out, with the reason (a transform, a relation not copied...). */
    public Map<String, String> leftOut() {
        return leftOut;
    }

    /** What the model changes on purpose, for the log. */
    public List<String> notes() {
        return notes;
    }

    /** Roles the copied owners and grants name. */
    public Set<String> roles() {
        return roles;
    }

    /** Whether the schema has triggers or foreign keys, which must not act while the pipeline applies rows. */
    public boolean hasTriggersOrForeignKeys() {
        return objects.stream().anyMatch(o -> o.kind() == ObjectKind.TRIGGER || o.kind() == ObjectKind.FOREIGN_KEY);
    }

    /**
     * What this model (the source's) has that {@code shadow} lacks, and objects both have but
     * define differently. Tables and schemas are compared elsewhere (their columns by the shadow
     * checks); comments, owners, grants and refreshes differing are simply applied again.
     */
    public SchemaDiff diff(SchemaModel shadow) {
        List<SchemaObject> missing = new ArrayList<>();
        List<SchemaDiff.Difference> differing = new ArrayList<>();
        for (SchemaObject o : objects) {
            SchemaObject there = shadow.get(o.key());
            if (there == null) {
                missing.add(o);
            }
            else if (o.kind() == ObjectKind.TABLE || o.kind() == ObjectKind.SCHEMA || o.definition().equals(there.definition())) {
                continue;
            }
            else if (Set.of(ObjectKind.COMMENT, ObjectKind.OWNER, ObjectKind.PRIVILEGES, ObjectKind.REFRESH).contains(o.kind())) {
                missing.add(o);
            }
            else {
                differing.add(new SchemaDiff.Difference(o, there));
            }
        }
        return new SchemaDiff(missing, differing);
    }
}
