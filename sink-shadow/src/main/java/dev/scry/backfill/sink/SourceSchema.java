package dev.scry.backfill.sink;

import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * The source's catalog as the sink needs it to follow a schema change that reached the stream:
 * the column's exact declared type, the value pre-existing rows read for an added column, and
 * whether the pipeline can carry the column's type at all.
 */
public interface SourceSchema {

    /** The table as the source's catalog has it now; empty when the table is gone. */
    Optional<Shape> describe(TableId table) throws SQLException;

    /**
     * @param spec          columns in catalog order with their declared types
     * @param missingValues for columns added with a default: column name to the text of the value
     *                      rows that existed before read for it
     * @param unsupported   column name to why the pipeline cannot carry its type exactly
     * @param typeNames     column name to its type's catalog name ({@code int4}, {@code varchar}),
     *                      the name the change stream describes the column with
     */
    record Shape(TableSpec spec, Map<String, String> missingValues, Map<String, String> unsupported, Map<String, String> typeNames) {

        public Shape {
            missingValues = Map.copyOf(missingValues);
            unsupported = Map.copyOf(unsupported);
            typeNames = Map.copyOf(typeNames);
        }
    }

    /** For runs that must not meet schema changes (and for tests): every lookup fails. */
    SourceSchema NONE = table -> Optional.empty();
}
