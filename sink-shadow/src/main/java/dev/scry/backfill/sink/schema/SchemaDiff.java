package dev.scry.backfill.sink.schema;

import java.util.List;

import dev.scry.backfill.error.SetupException;

/**
 * What the shadow lacks of the source's schema ({@link #missing}, in creation order) and what it
 * defines differently ({@link #differing}).
 */
public record SchemaDiff(List<SchemaObject> missing, List<Difference> differing) {

    /** An object both sides have under one key, with different definitions. */
    public record Difference(SchemaObject source, SchemaObject shadow) {
    }

    public SchemaDiff {
        missing = List.copyOf(missing);
        differing = List.copyOf(differing);
    }

    public List<SchemaObject> missing(ObjectKind.Section section) {
        return missing.stream().filter(o -> o.section() == section).toList();
    }

    /**
     * Refuses, in one message naming every one, objects the shadow already has with another
     * definition: the pipeline would otherwise run against a schema that is not the source's.
     */
    public void refuseDifferences() {
        if (differing.isEmpty()) {
            return;
        }
        StringBuilder message = new StringBuilder("the shadow already has ").append(differing.size() == 1 ? "an object" : differing.size() + " objects")
                .append(" defined differently from the source's: ");
        for (int i = 0; i < differing.size(); i++) {
            Difference d = differing.get(i);
            message.append(i == 0 ? "" : "; ").append(d.source().key()).append(" is `").append(oneLine(d.shadow().definition()))
                    .append("` on the shadow but `").append(oneLine(d.source().definition())).append("` on the source");
        }
        throw new SetupException(message.append(". Drop ").append(differing.size() == 1 ? "it" : "them")
                .append(" on the shadow (the pipeline then creates the source's) or make ").append(differing.size() == 1 ? "it" : "them")
                .append(" the source's, then run again").toString());
    }

    private static String oneLine(String sql) {
        String flat = sql.replaceAll("\\s+", " ").strip();
        return flat.length() > 200 ? flat.substring(0, 200) + "..." : flat;
    }
}
