package dev.scry.backfill.sink.schema;

import java.util.Set;

/**
 * Whether an object over a transformed column still holds on the shadow. A dropped column takes
 * every object over it along. A hashed column (text now, distinct values still distinct, the same
 * value always the same hash) keeps the indexes and keys over it as plain columns, and foreign
 * keys whose columns are hashed on both sides; an expression, a predicate, a CHECK or a view
 * over it would compute on hashes. A column whose values other transforms change keeps plain
 * indexes and views but not what checks its values (keys, uniqueness, CHECK, foreign keys).
 */
final class SkipRules {

    private static final Set<ObjectKind> KEYS_AND_INDEXES = Set.of(ObjectKind.PRIMARY_KEY, ObjectKind.CONSTRAINT, ObjectKind.INDEX,
            ObjectKind.FOREIGN_KEY);

    private static final Set<ObjectKind> CHECKS_VALUES = Set.of(ObjectKind.PRIMARY_KEY, ObjectKind.CONSTRAINT, ObjectKind.CHECK,
            ObjectKind.CHECK_NOT_VALID, ObjectKind.FOREIGN_KEY);

    private SkipRules() {
    }

    /** Why {@code d}, which uses {@code column}, cannot be created on the shadow; null when it can. */
    static String why(Draft d, ColumnShaping.Effect effect, boolean retyped, String column) {
        String name = "column " + column;
        switch (effect) {
            case DROPPED:
                return "it uses " + name + ", which drop-columns leaves out";
            case HASHED:
                if (KEYS_AND_INDEXES.contains(d.kind) && d.plainColumns) {
                    return null;
                }
                return retyped ? "it uses " + name + ", which a hash turns into text"
                        : d.kind == ObjectKind.CHECK || d.kind == ObjectKind.CHECK_NOT_VALID ? "it checks " + name + ", whose values are hashed" : null;
            case CHANGED:
                if (retyped && !(d.kind == ObjectKind.INDEX && d.plainColumns && !d.unique)) {
                    return "it uses " + name + ", whose type a transform changes";
                }
                return CHECKS_VALUES.contains(d.kind) || (d.kind == ObjectKind.INDEX && d.unique)
                        ? "it checks " + name + ", whose values a transform changes" : null;
            default:
                return null;
        }
    }
}
