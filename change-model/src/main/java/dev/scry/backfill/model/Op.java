package dev.scry.backfill.model;

/** What a change event does to the shadow. */
public enum Op {
    /** A row read by the initial snapshot. */
    READ,
    INSERT,
    UPDATE,
    DELETE,
    TRUNCATE,
    /** A schema change made on the source (see {@link SchemaChange}): carries no row. */
    SCHEMA;

    /** READ, INSERT and UPDATE all leave the row holding the event's after-image. */
    public boolean writesRow() {
        return this == READ || this == INSERT || this == UPDATE;
    }
}
