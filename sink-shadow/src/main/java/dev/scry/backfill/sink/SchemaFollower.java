package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableSpec;

/**
 * Brings a shadow table to the shape of the rows now arriving for it, inside the batch's
 * transaction, at the point in the stream where the source's schema changed. pgoutput describes a
 * table again before its first change after an ALTER, so a row image whose columns differ from
 * the shadow's is where the change took effect: a column it has and the shadow lacks was added, a
 * shadow column a full row lacks was dropped. Types come from the source's catalog; a type the
 * shadow cannot follow without guessing stops the pipeline with the checkpoint before the change.
 */
final class SchemaFollower {

    private static final Logger LOG = LoggerFactory.getLogger(SchemaFollower.class);

    private final SourceSchema source;

    SchemaFollower(SourceSchema source) {
        this.source = source;
    }

    /**
     * Returns the table's spec after making the shadow hold exactly {@code columns} (the columns
     * of a full row image, in source order), with the source's current types where the stream has
     * reached them. {@code streamTypes} holds the stream's type name per column, or is null.
     */
    TableSpec follow(Connection c, TableSpec shadow, List<String> columns, List<String> streamTypes) throws SQLException {
        java.util.Optional<SourceSchema.Shape> described = source.describe(shadow.id());
        if (described.isEmpty() && new java.util.HashSet<>(columns).equals(new java.util.HashSet<>(shadow.columns().stream()
                .map(ColumnSpec::name).toList()))) {
            // Same columns, and no catalog to compare types with (the table was dropped since, or a
            // dead letter is being replayed).
            return shadow;
        }
        SourceSchema.Shape src = described.orElseThrow(() -> new PipelineFailure("table " + shadow.id()
                + " changed shape in the stream but no longer exists on the source, so the new columns' types are unknown;"
                + " re-run the snapshot (teardown --drop-metadata, empty the shadow tables, snapshot)"));
        List<ColumnSpec> result = new ArrayList<>(shadow.columns());
        for (ColumnSpec col : shadow.columns()) {
            if (!columns.contains(col.name())) {
                if (shadow.primaryKey().contains(col.name())) {
                    throw new PipelineFailure("key column " + col.name() + " of " + shadow.id() + " was dropped on the source;"
                            + " the shadow cannot follow a change of key. Re-run the snapshot (teardown --drop-metadata, empty"
                            + " the shadow tables, snapshot)");
                }
                ShadowSchema.dropColumn(c, shadow.id(), col.name());
                result.remove(col);
                LOG.info("followed the source: dropped column {} of {}", col.name(), shadow.id());
            }
        }
        for (String name : columns) {
            ColumnSpec have = find(result, name);
            ColumnSpec want = src.spec().column(name);
            if (want == null) {
                if (have == null) {
                    throw new PipelineFailure("column " + name + " of " + shadow.id() + " arrives from the source but is no longer"
                            + " in its catalog (added and dropped again before the pipeline caught up), so its type is unknown;"
                            + " add it to the shadow table with the type it had, then run `resume`");
                }
                continue;
            }
            if (have == null) {
                String why = src.unsupported().get(name);
                if (why != null) {
                    throw new PipelineFailure("column " + name + " added to " + shadow.id() + " on the source: " + why
                            + "; drop the column on the source or remove the table from `tables` (and the shadow table), then"
                            + " run `resume`");
                }
                ShadowSchema.addColumn(c, shadow.id(), want, src.missingValues().get(name));
                result.add(want);
                LOG.info("followed the source: added column {} {} to {}{}", name, want.type(), shadow.id(),
                        src.missingValues().containsKey(name) ? " (existing rows get its default)" : "");
            }
            else if (!have.type().equals(want.type()) && reached(src, name, columns, streamTypes)) {
                if (!TypeWidening.isWidening(have.type(), want.type())) {
                    throw new PipelineFailure("column " + name + " of " + shadow.id() + " changed type from " + have.type() + " to "
                            + want.type() + " on the source; the shadow follows only widening changes, which cannot alter a value."
                            + " Apply the same ALTER (with the same USING) to the shadow column, then run `resume`");
                }
                ShadowSchema.alterType(c, shadow.id(), name, want.type());
                result.set(result.indexOf(have), want);
                LOG.info("followed the source: column {} of {} is now {}", name, shadow.id(), want.type());
            }
        }
        return new TableSpec(shadow.id(), result, shadow.primaryKey());
    }

    /**
     * Whether the stream describes the column with the type the catalog has now. The catalog can be
     * ahead of the stream (rows written before an ALTER are still arriving); a type change is
     * followed only once the rows carry it, except widening ones, which are safe to apply early.
     */
    private static boolean reached(SourceSchema.Shape src, String name, List<String> columns, List<String> streamTypes) {
        if (streamTypes == null) {
            return true;
        }
        String streamType = streamTypes.get(columns.indexOf(name));
        String catalogType = src.typeNames().get(name);
        return streamType.isEmpty() || catalogType == null || streamType.equalsIgnoreCase(catalogType);
    }

    private static ColumnSpec find(List<ColumnSpec> columns, String name) {
        for (ColumnSpec c : columns) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }
}
