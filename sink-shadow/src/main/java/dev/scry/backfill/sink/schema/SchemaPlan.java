package dev.scry.backfill.sink.schema;

/**
 * The source's schema for the scope, the shadow's, and what separates them: what a run creates
 * (pre-data before the rows, post-data after them or at once) and what it refuses.
 */
public record SchemaPlan(SchemaModel source, SchemaModel shadow, SchemaDiff diff) {

    /** Whether the shadow will have triggers or foreign keys: then the pipeline's sessions must be able to set {@code session_replication_role}. */
    public boolean needsReplicaRole() {
        return source.hasTriggersOrForeignKeys() || shadow.hasTriggersOrForeignKeys();
    }
}
