package dev.scry.backfill.error;

import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.sql.SQLRecoverableException;

/**
 * Sorts SQL errors into transient and fatal by SQLSTATE, the one place that knows which
 * PostgreSQL error classes go away when retried.
 */
public final class SqlErrors {

    private SqlErrors() {
    }

    public static boolean isTransient(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) {
                return true;
            }
            if (t instanceof SQLException sql && isTransientState(sql.getSQLState())) {
                return true;
            }
            if (t instanceof java.io.IOException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a failure anywhere in {@code t}'s cause chain is a lost or refused connection or
     * another fault that goes away by itself (a server restarting, a terminated backend).
     */
    public static boolean isTransientChain(Throwable t) {
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof SQLException sql && isTransient(sql)) {
                return true;
            }
            if (c instanceof java.io.IOException) {
                return true;
            }
        }
        return false;
    }

    static boolean isTransientState(String state) {
        if (state == null) {
            return false;
        }
        return state.startsWith("08")          // connection exception
                || state.equals("40001")       // serialization_failure
                || state.equals("40P01")       // deadlock_detected
                || state.startsWith("53")      // insufficient resources (disk full, too many connections)
                || state.equals("55P03")       // lock_not_available
                || state.equals("55006")       // object_in_use (a slot whose old walsender has not exited yet)
                || state.equals("57P01")       // admin_shutdown
                || state.equals("57P02")       // crash_shutdown
                || state.equals("57P03")       // cannot_connect_now (starting up, recovering)
                || state.equals("57014")       // query_canceled (statement timeout, pg_cancel_backend)
                || state.equals("58000") || state.equals("58030"); // system / io error
    }

    /**
     * The host name a connection attempt could not resolve, when that is why it failed. pgjdbc
     * reports it as "The connection attempt failed." over an {@link java.net.UnknownHostException}
     * whose message is the bare host name, which alone reads as no reason at all.
     */
    public static java.util.Optional<String> unresolvedHost(Throwable t) {
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof java.net.UnknownHostException unknown) {
                return java.util.Optional.of(String.valueOf(unknown.getMessage()));
            }
        }
        return java.util.Optional.empty();
    }

    /** One line: SQLSTATE and the server's message, without the multi-line detail pgjdbc appends. */
    public static String describe(SQLException e) {
        String message = String.valueOf(e.getMessage());
        int newline = message.indexOf('\n');
        if (newline >= 0) {
            message = message.substring(0, newline);
        }
        return (e.getSQLState() == null ? "" : "[" + e.getSQLState() + "] ") + message;
    }
}
