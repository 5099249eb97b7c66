package dev.scry.backfill.model;

/**
 * What a PostgreSQL type is made of, as SQL: the one walk both the source's checks (which types a
 * column holds) and the shadow's type creation (what must exist first) take through the catalog.
 */
public final class TypeParts {

    /**
     * A lateral join yielding, as {@code parts.child}, the types that the type in the {@code pg_type}
     * row {@code t} is made of: a domain's base type, an array's (or other subscriptable type's)
     * element, a composite type's attributes, a range's subtype, a multirange's range.
     */
    public static final String OF_T = """
            CROSS JOIN LATERAL (
              SELECT t.typbasetype WHERE t.typtype = 'd'
              UNION ALL SELECT t.typelem WHERE t.typelem <> 0
              UNION ALL SELECT a.atttypid FROM pg_attribute a
                        WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
              UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
              UNION ALL SELECT r.rngtypid FROM pg_range r WHERE r.rngmultitypid = t.oid
            ) parts(child)""";

    private TypeParts() {
    }
}
