package dev.scry.backfill.model;

/**
 * One column of a source table as the catalog describes it.
 *
 * @param name     the column name, exactly as stored
 * @param type     the SQL type as {@code format_type()} prints it ({@code numeric(12,2)},
 *                 {@code timestamp with time zone}, {@code "Mood"[]}); used verbatim in shadow DDL
 *                 and in the casts that turn bound text back into values
 * @param notNull  whether the column is declared NOT NULL
 * @param baseType the catalog name of the underlying scalar type once domains and arrays are
 *                 looked through ({@code int4}, {@code numeric}, {@code timestamptz}); user enums
 *                 report {@code enum}
 * @param array    whether the column (or the domain it uses) is an array of {@code baseType}
 * @param generatedAlways whether the (shadow) column is GENERATED ALWAYS AS IDENTITY, which an
 *                 INSERT writes only with OVERRIDING SYSTEM VALUE and an UPDATE never
 */
public record ColumnSpec(String name, String type, boolean notNull, String baseType, boolean array, boolean generatedAlways) {

    public ColumnSpec(String name, String type, boolean notNull, String baseType, boolean array) {
        this(name, type, notNull, baseType, array, false);
    }

    public ColumnSpec {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("column name cannot be empty");
        }
        if (type == null || type.isBlank()) {
            throw new IllegalArgumentException("column " + name + " has no type");
        }
        if (baseType == null || baseType.isBlank()) {
            throw new IllegalArgumentException("column " + name + " has no base type");
        }
    }
}
