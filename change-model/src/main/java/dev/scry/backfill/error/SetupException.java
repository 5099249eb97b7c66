package dev.scry.backfill.error;

/**
 * Something the operator has to change before the pipeline can run: the configuration, the
 * source's settings or privileges, a table's shape. Raised before anything is written; the CLI
 * prints the message as one line and exits 2. Messages name the problem and the fix.
 */
public class SetupException extends RuntimeException {

    public SetupException(String message) {
        super(message);
    }

    public SetupException(String message, Throwable cause) {
        super(message, cause);
    }
}
