package dev.scry.backfill.sink.ddl;

import dev.scry.backfill.error.PipelineFailure;

/**
 * A captured schema change the shadow could not apply: the pipeline stops with the checkpoint
 * before it, and the sink records it (see {@link dev.scry.backfill.checkpoint.SchemaRecords}) so
 * that {@code resume} takes it as run by hand on the shadow.
 */
public final class SchemaChangeStopped extends PipelineFailure {

    private final String lsn;
    private final String statement;
    private final String error;

    SchemaChangeStopped(String lsn, String statement, String error, String message) {
        super(message);
        this.lsn = lsn;
        this.statement = statement;
        this.error = error;
    }

    public String lsn() {
        return lsn;
    }

    /** What to run on the shadow (with the source session's search_path). */
    public String statement() {
        return statement;
    }

    public String error() {
        return error;
    }
}
