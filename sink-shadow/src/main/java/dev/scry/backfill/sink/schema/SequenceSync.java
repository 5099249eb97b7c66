package dev.scry.backfill.sink.schema;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies sequence values from the source to the shadow. Logical replication carries no sequence
 * values, so they are read from the source itself: at the end of the snapshot, at each
 * {@code --exit-when-caught-up}, and every {@code sequences.sync-interval-ms} while cdc runs. A
 * shadow sequence is only ever moved forward (in the direction of its increment), never back: a
 * migration tried on the shadow may have drawn values from it, and handing them out again would
 * collide with the rows it wrote. {@code is_called} is kept, so the next value drawn on the
 * shadow is the one the source would give.
 */
public final class SequenceSync {

    private static final Logger LOG = LoggerFactory.getLogger(SequenceSync.class);
    private static final String INSUFFICIENT_PRIVILEGE = "42501";
    private static final String UNDEFINED_TABLE = "42P01";

    private final List<String> sequences;
    private final Set<String> unreadable = new HashSet<>();

    /** @param sequences qualified names, as {@link SchemaModel#sequences()} gives them */
    public SequenceSync(List<String> sequences) {
        this.sequences = List.copyOf(sequences);
    }

    public boolean isEmpty() {
        return sequences.isEmpty();
    }

    /** One sequence's state. {@code position} is the last value handed out (or, before any, the one before the first). */
    record State(long lastValue, boolean called, long increment) {
        BigInteger position() {
            BigInteger last = BigInteger.valueOf(lastValue);
            return called ? last : last.subtract(BigInteger.valueOf(increment));
        }
    }

    /** Whether the source's sequence is ahead of the shadow's, in the direction it moves. */
    static boolean ahead(State source, State shadow) {
        int cmp = source.position().compareTo(shadow.position());
        return source.increment() >= 0 ? cmp > 0 : cmp < 0;
    }

    /** Moves every shadow sequence the source is ahead of; returns how many moved. */
    public int sync(Connection source, Connection shadow) throws SQLException {
        int moved = 0;
        for (String name : sequences) {
            if (unreadable.contains(name)) {
                continue;
            }
            State src;
            try {
                src = read(source, name);
            }
            catch (SQLException e) {
                if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState()) || UNDEFINED_TABLE.equals(e.getSQLState())) {
                    unreadable.add(name);
                    LOG.warn("cannot read sequence {} on the source ({}); its value is not copied (GRANT SELECT ON SEQUENCE {} to the"
                            + " pipeline's user)", name, e.getMessage(), name);
                    continue;
                }
                throw e;
            }
            State shd;
            try {
                shd = read(shadow, name);
            }
            catch (SQLException e) {
                if (UNDEFINED_TABLE.equals(e.getSQLState())) {
                    continue;
                }
                throw e;
            }
            if (ahead(src, shd)) {
                try (PreparedStatement ps = shadow.prepareStatement("SELECT setval(?::regclass, ?, ?)")) {
                    ps.setString(1, name);
                    ps.setLong(2, src.lastValue());
                    ps.setBoolean(3, src.called());
                    ps.executeQuery().close();
                }
                moved++;
            }
        }
        return moved;
    }

    private static State read(Connection c, String name) throws SQLException {
        long increment;
        try (PreparedStatement ps = c.prepareStatement("SELECT seqincrement FROM pg_sequence WHERE seqrelid = ?::regclass")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("sequence " + name + " does not exist", UNDEFINED_TABLE);
                }
                increment = rs.getLong(1);
            }
        }
        // The name comes from the catalog's regclass output, quoted where needed.
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT last_value, is_called FROM " + name)) {
            rs.next();
            return new State(rs.getLong(1), rs.getBoolean(2), increment);
        }
    }
}
