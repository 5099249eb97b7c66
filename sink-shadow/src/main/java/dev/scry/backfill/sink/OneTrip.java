package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Statements that go to the shadow together: pgjdbc sends a prepared statement of several
 * statements as one flow of messages and waits once for all their results, where one statement at
 * a time costs a wait each. Each statement is still parsed, planned (and kept prepared) on its own,
 * and run in order; the first error ends the lot, since the server skips the rest of the flow. A
 * batch's net effect and its checkpoint are one trip: on two cores, with the stream's reader and
 * the source's walsender busy beside it, each wait for the shadow's answer cost about 0.3 ms
 * besides the statement itself, 5 of them per batch.
 */
final class OneTrip {

    /** Binds a statement's parameters from {@code first} on; returns the index after its last. */
    @FunctionalInterface
    interface Binder {
        int bind(PreparedStatement ps, int first) throws SQLException;
    }

    /** What a statement returned: its row count, or (count -1) its rows. */
    @FunctionalInterface
    interface Outcome {
        void accept(int count, ResultSet rows) throws SQLException;
    }

    private record Part(String sql, Binder binder, Outcome outcome) {
    }

    private final List<Part> parts = new ArrayList<>();

    void add(String sql, Binder binder, Outcome outcome) {
        parts.add(new Part(sql, binder, outcome));
    }

    boolean isEmpty() {
        return parts.isEmpty();
    }

    /** Forgets the statements not sent (their transaction was rolled back). */
    void clear() {
        parts.clear();
    }

    /** Sends the statements added since the last send, in order, and hands each its outcome. */
    void send(Connection c) throws SQLException {
        if (parts.isEmpty()) {
            return;
        }
        List<Part> sending = new ArrayList<>(parts);
        parts.clear();
        StringBuilder sql = new StringBuilder();
        for (Part p : sending) {
            sql.append(sql.length() == 0 ? "" : ";\n").append(p.sql());
        }
        try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
            int at = 1;
            for (Part p : sending) {
                at = p.binder().bind(ps, at);
            }
            boolean rows = ps.execute();
            for (Part p : sending) {
                if (rows) {
                    try (ResultSet rs = ps.getResultSet()) {
                        p.outcome().accept(-1, rs);
                    }
                }
                else {
                    p.outcome().accept(ps.getUpdateCount(), null);
                }
                rows = ps.getMoreResults();
            }
        }
    }
}
