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

    /**
     * Every problem found, in one message, so that one run tells the operator everything to fix:
     * a single problem as it is, several numbered after {@code heading}.
     */
    public static SetupException ofAll(String heading, java.util.List<String> problems) {
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("no problems to report");
        }
        if (problems.size() == 1) {
            return new SetupException(problems.get(0));
        }
        StringBuilder message = new StringBuilder(heading).append(" (").append(problems.size()).append(" problems):");
        for (int i = 0; i < problems.size(); i++) {
            message.append(i == 0 ? " " : "; ").append('(').append(i + 1).append(") ").append(problems.get(i));
        }
        return new SetupException(message.toString());
    }
}
