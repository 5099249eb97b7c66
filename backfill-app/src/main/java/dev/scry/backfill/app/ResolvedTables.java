package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.source.SourceCatalog;

/** Expands the patterns in {@code tables} against the source's catalog, once per command. */
final class ResolvedTables {

    private ResolvedTables() {
    }

    static BackfillConfig of(BackfillConfig config, Connection source) throws SQLException {
        if (!config.hasPatterns()) {
            return config;
        }
        List<TableId> tables = new SourceCatalog(source).resolve(config.selectors());
        if (tables.isEmpty()) {
            throw new SetupException("tables " + config.selectors() + " match no table on the source " + config.source().describe()
                    + "; check the schema names, or list at least one existing table");
        }
        return config.withTables(tables);
    }
}
