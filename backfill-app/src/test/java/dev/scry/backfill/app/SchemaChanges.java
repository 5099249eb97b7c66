package dev.scry.backfill.app;

/**
 * A table and the schema changes the pipeline follows while it streams, with changes around them:
 * the source schema of {@link SchemaChangeIT}, and of the version matrix ({@link VersionMatrixIT}).
 */
final class SchemaChanges {

    static final String TABLE = "public.items";

    static final String[] DDL = {
        "CREATE TABLE items (id int PRIMARY KEY, qty int, name varchar(10), note text, price numeric(8,2))",
        "INSERT INTO items SELECT g, g, 'n' || g, 'note', g / 4.0 FROM generate_series(1, 500) g",
    };

    /** Columns added with and without defaults (existing rows read the default from attmissingval). */
    static final String[] ADDED_COLUMNS = {
        "UPDATE items SET qty = qty + 1 WHERE id <= 10",
        "ALTER TABLE items ADD COLUMN plain text",
        "INSERT INTO items (id, qty, plain) VALUES (1001, 1, 'has plain')",
        // Existing rows read the default without any change carrying it.
        "ALTER TABLE items ADD COLUMN status text NOT NULL DEFAULT 'active'",
        "ALTER TABLE items ADD COLUMN created date DEFAULT date '2024-02-29'",
        "UPDATE items SET status = 'gone' WHERE id % 50 = 0",
        "INSERT INTO items (id, qty) VALUES (1002, 2)",
    };

    /** A dropped column and type changes that widen without altering a value. */
    static final String[] DROPPED_AND_WIDENED = {
        "INSERT INTO items (id, qty, name) VALUES (2000, 1, 'before')",
        "ALTER TABLE items DROP COLUMN note",
        "ALTER TABLE items ALTER COLUMN qty TYPE bigint, ALTER COLUMN name TYPE varchar(40), ALTER COLUMN price TYPE numeric(12,2)",
        "UPDATE items SET qty = 9000000000, name = 'a name longer than ten', price = 1234567.89 WHERE id = 1",
        "DELETE FROM items WHERE id % 7 = 0",
    };

    private SchemaChanges() {
    }
}
