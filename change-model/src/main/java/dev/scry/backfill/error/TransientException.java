package dev.scry.backfill.error;

/**
 * A fault that may go away by itself (connection lost, server restarting, serialization
 * failure). Callers retry the whole unit of work with backoff; nothing was committed.
 */
public class TransientException extends RuntimeException {

    public TransientException(String message, Throwable cause) {
        super(message, cause);
    }
}
