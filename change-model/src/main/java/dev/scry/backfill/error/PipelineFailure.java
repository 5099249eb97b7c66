package dev.scry.backfill.error;

/**
 * A failure retrying will not fix (a value the shadow rejects, a schema the shadow cannot follow).
 * The pipeline stops with the checkpoint before the failing batch, so nothing is lost; the CLI
 * prints the message and exits 1.
 */
public class PipelineFailure extends RuntimeException {

    public PipelineFailure(String message) {
        super(message);
    }

    public PipelineFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
