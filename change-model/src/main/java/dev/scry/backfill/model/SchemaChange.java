package dev.scry.backfill.model;

import java.util.Objects;

/**
 * A schema change made on the source, at its place in the stream: what the event trigger that
 * {@code schema.capture-ddl} installs on the source wrote into the WAL as a transactional logical
 * message (see the cdc-stream module's {@code DdlCapture}). The sink reads the command out of it
 * and applies it on the shadow in the transaction of the rows around it.
 *
 * @param lsn     where the message is in the source's WAL: names this change (a stop, a resume)
 * @param content the message as the trigger wrote it (JSON: the command tag, the statement text,
 *                the objects it touched, the session's search_path)
 * @param before  the position right before it (inside its transaction): where the shadow stops
 *                when it cannot apply the change, so that the rows before it are kept
 */
public record SchemaChange(Lsn lsn, String content, SourcePosition before) {

    /** The table every schema change is filed under in a batch: it belongs to no table of its own. */
    public static final TableId TABLE = new TableId("scry_backfill", "schema_change");

    public SchemaChange {
        Objects.requireNonNull(lsn, "lsn");
        Objects.requireNonNull(content, "content");
    }
}
