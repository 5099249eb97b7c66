package dev.scry.backfill.app;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.source.SourceAdmin;

/**
 * {@code teardown}: drops the slot (so the source stops retaining WAL for it) and the publication;
 * with {@code --drop-metadata} also the pipeline's checkpoint. Shadow tables stay.
 */
final class Teardown {

    private final BackfillConfig config;

    Teardown(BackfillConfig config) {
        this.config = config;
    }

    void run(PrintWriter out, boolean dropMetadata) throws SQLException {
        try (Connection source = Connect.open(config.source(), "source")) {
            SourceAdmin admin = new SourceAdmin(source);
            out.println(admin.dropSlot(config.slot())
                    ? "dropped replication slot " + config.slot()
                    : "replication slot " + config.slot() + " did not exist");
            if (admin.server().standby()) {
                // A standby writes nothing: the publication came from the primary and goes there.
                out.println(admin.publicationExists(config.publication())
                        ? "publication " + config.publication() + " is kept: the source is a standby; on the primary run DROP PUBLICATION "
                                + dev.scry.backfill.model.Identifiers.quote(config.publication())
                        : "publication " + config.publication() + " did not exist");
            }
            else {
                out.println(admin.dropPublication(config.publication())
                        ? "dropped publication " + config.publication()
                        : "publication " + config.publication() + " did not exist");
                if (config.schema().captureDdl()) {
                    out.println(new dev.scry.backfill.source.DdlCapture(source).remove()
                            ? "dropped the DDL capture trigger (event triggers scry_backfill_ddl, scry_backfill_ddl_drop)"
                            : "the DDL capture trigger did not exist");
                }
            }
        }
        if (dropMetadata) {
            try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
                MetadataSchema.drop(shadow, config.pipeline());
                out.println("dropped the checkpoint of pipeline " + config.pipeline() + " (shadow tables are kept)");
            }
        }
        else {
            out.println("the checkpoint on the shadow is kept; `teardown --drop-metadata` removes it");
        }
    }
}
