package dev.scry.backfill.sink.schema;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.model.TableId;

/** The objects read so far, the catalog rows each one creates, and the relations they are on. */
final class ModelBuilder {

    /**
     * A relation of the model.
     *
     * @param name     as regclass prints it with an empty search path (qualified, quoted where needed)
     * @param root     for a configured table and its partitions, the configured table (whose
     *                 copy loads them and whose transforms apply); null for views and sequences
     * @param parent   for a partition, its partitioned table's OID; else 0
     */
    record Relation(long oid, TableId id, String name, char kind, TableId root, long parent) {

        String key() {
            return switch (kind) {
                case 'v' -> "VIEW " + name;
                case 'm' -> "MATERIALIZED VIEW " + name;
                case 'S' -> "SEQUENCE " + name;
                default -> "TABLE " + name;
            };
        }

        boolean isTable() {
            return kind == 'r' || kind == 'p';
        }
    }

    final SchemaScope scope;
    private final Map<String, Draft> drafts = new LinkedHashMap<>();
    private final Map<CatalogRef, String> owners = new HashMap<>();
    private final Map<Long, Relation> relations = new LinkedHashMap<>();

    // What the model leaves out and why, for the log (the source's reading says it once).
    private final Map<String, String> skipped = new LinkedHashMap<>();

    ModelBuilder(SchemaScope scope) {
        this.scope = scope;
    }

    /** The schema's object, created if missing; objects in a schema depend on it. */
    String schema(String name) {
        String key = "SCHEMA " + dev.scry.backfill.model.Identifiers.quote(name);
        add(new Draft(key, ObjectKind.SCHEMA, null, List.of("CREATE SCHEMA IF NOT EXISTS " + dev.scry.backfill.model.Identifiers.quote(name))));
        return key;
    }

    // Every sequence of the model (identity columns' too), for copying their values.
    private final java.util.Set<String> sequences = new java.util.LinkedHashSet<>();

    // The source's types (by OID) that objects other than the tables' columns use.
    private final java.util.Set<Long> types = new java.util.LinkedHashSet<>();

    void type(long oid) {
        types.add(oid);
    }

    java.util.Set<Long> types() {
        return types;
    }

    void sequence(String name) {
        sequences.add(name);
    }

    java.util.Set<String> sequences() {
        return sequences;
    }

    void skip(String what, String why) {
        skipped.putIfAbsent(what, why);
    }

    // What the model changes on purpose (a foreign key left NOT VALID), for the log.
    private final List<String> notes = new java.util.ArrayList<>();

    void note(String note) {
        notes.add(note);
    }

    List<String> notes() {
        return notes;
    }

    Map<String, String> skipped() {
        return skipped;
    }

    Draft add(Draft draft) {
        drafts.putIfAbsent(draft.key, draft);
        return drafts.get(draft.key);
    }

    void own(Draft draft, long classId, long objectId) {
        draft.owns(classId, objectId);
        owners.putIfAbsent(new CatalogRef(classId, objectId), draft.key);
    }

    /** The key of the object that created a catalog row, or null when none of the model did. */
    String ownerOf(long classId, long objectId) {
        return owners.get(new CatalogRef(classId, objectId));
    }

    Draft get(String key) {
        return drafts.get(key);
    }

    Collection<Draft> drafts() {
        return drafts.values();
    }

    void remove(String key) {
        Draft d = drafts.remove(key);
        if (d != null) {
            d.owns.forEach(owners::remove);
        }
    }

    void relation(Relation r) {
        relations.putIfAbsent(r.oid(), r);
    }

    Relation relation(long oid) {
        return relations.get(oid);
    }

    List<Long> relationOids(Set<Character> kinds) {
        return relations.values().stream().filter(r -> kinds.contains(r.kind())).map(Relation::oid).toList();
    }

    Relation relation(dev.scry.backfill.model.TableId id) {
        return relations.values().stream().filter(r -> r.id().equals(id)).findFirst().orElse(null);
    }

    boolean hasRelation(long oid) {
        return relations.containsKey(oid);
    }

    /** The configured tables (the roots of the table trees), each once. */
    Set<TableId> roots() {
        Set<TableId> out = new java.util.LinkedHashSet<>();
        relations.values().stream().filter(r -> r.root() != null).forEach(r -> out.add(r.root()));
        return out;
    }

    /** Every catalog row some object of the model creates. */
    Set<CatalogRef> ownedRefs() {
        return owners.keySet();
    }
}
