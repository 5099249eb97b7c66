package dev.scry.backfill.sink.schema;

/**
 * The kinds of schema object the shadow gets, in the order pg_restore would create them when
 * nothing else decides: what rows need first (pre-data), then what is built after the rows are in
 * (post-data). Dependencies read from the catalog override this order where they say so.
 */
public enum ObjectKind {
    SCHEMA(Section.PRE_DATA, "schema"),
    FUNCTION(Section.PRE_DATA, "function"),
    SEQUENCE(Section.PRE_DATA, "sequence"),
    TABLE(Section.PRE_DATA, "table"),
    COLUMN_OPTIONS(Section.PRE_DATA, "column-options"),
    DEFAULT(Section.PRE_DATA, "default"),
    IDENTITY(Section.PRE_DATA, "identity"),
    CHECK(Section.PRE_DATA, "check"),
    ATTACH_PARTITION(Section.PRE_DATA, "attach-partition"),
    SEQUENCE_OWNED_BY(Section.PRE_DATA, "sequence-owned-by"),
    VIEW(Section.PRE_DATA, "view"),
    MATERIALIZED_VIEW(Section.PRE_DATA, "materialized-view"),
    PRIMARY_KEY(Section.POST_DATA, "primary-key"),
    CONSTRAINT(Section.POST_DATA, "constraint"),
    INDEX(Section.POST_DATA, "index"),
    ATTACH_INDEX(Section.POST_DATA, "attach-index"),
    CHECK_NOT_VALID(Section.POST_DATA, "check-not-valid"),
    STATISTICS(Section.POST_DATA, "statistics"),
    FOREIGN_KEY(Section.POST_DATA, "foreign-key"),
    TRIGGER(Section.POST_DATA, "trigger"),
    REPLICA_IDENTITY(Section.POST_DATA, "replica-identity"),
    CLUSTER(Section.POST_DATA, "cluster"),
    REFRESH(Section.POST_DATA, "refresh"),
    COMMENT(null, "comment"),
    OWNER(null, "owner"),
    PRIVILEGES(null, "privileges");

    /** pg_dump's sections, as far as the shadow needs them. */
    public enum Section {
        /** Created before the rows are copied: what the rows go into. */
        PRE_DATA,
        /** Built after the rows are in: keys, indexes, constraints, triggers. */
        POST_DATA
    }

    private final Section section;
    private final String label;

    ObjectKind(Section section, String label) {
        this.section = section;
        this.label = label;
    }

    /** The section of every object of this kind, or null where it follows the object it is about (comments, owners, grants). */
    Section section() {
        return section;
    }

    /** The kind as the journal and the logs name it. */
    public String label() {
        return label;
    }

    public static ObjectKind fromLabel(String label) {
        for (ObjectKind k : values()) {
            if (k.label.equals(label)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown schema object kind '" + label + "'");
    }
}
