package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.TableStates;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.source.SourceCatalog;

/**
 * The pipeline's tables: those {@code tables} names (patterns resolved against the source), plus
 * those {@code table add} brought in, minus those {@code table remove} took out (recorded on the
 * shadow, see {@link TableStates}). A removed table stays out even while {@code tables} names it
 * or a pattern matches it, until {@code table add} brings it back.
 */
public final class TableMembership {

    private TableMembership() {
    }

    /** The configuration with its tables resolved and the commands' additions and removals applied. */
    public static BackfillConfig of(BackfillConfig config, Connection source, Connection shadow) throws SQLException {
        BackfillConfig resolved = config.hasPatterns() ? config.withTables(new SourceCatalog(source).resolve(config.selectors())) : config;
        return of(resolved, shadow);
    }

    /** The same for a configuration whose patterns are resolved already. */
    public static BackfillConfig of(BackfillConfig resolved, Connection shadow) throws SQLException {
        var states = new TableStates(resolved.pipeline()).read(shadow);
        if (states.isEmpty()) {
            return resolved;
        }
        Set<TableId> tables = new LinkedHashSet<>(resolved.tables());
        states.forEach((table, entry) -> {
            if (entry.state() == TableStates.State.REMOVED) {
                tables.remove(table);
            }
            else if (entry.added()) {
                tables.add(table);
            }
        });
        return resolved.withTables(List.copyOf(tables));
    }

    /** Tables {@code table remove} took out. */
    public static Set<TableId> removed(String pipeline, Connection shadow) throws SQLException {
        Set<TableId> out = new LinkedHashSet<>();
        new TableStates(pipeline).read(shadow).forEach((t, e) -> {
            if (e.state() == TableStates.State.REMOVED) {
                out.add(t);
            }
        });
        return out;
    }
}
