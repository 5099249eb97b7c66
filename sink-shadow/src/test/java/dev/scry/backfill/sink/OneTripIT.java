package dev.scry.backfill.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/** Statements sent together: in order, each with its own outcome, and nothing after the first error. */
class OneTripIT {

    private static Databases db;

    @BeforeAll
    static void start() throws SQLException {
        db = PgPair.get().newDatabases("trip_it");
        try (Connection c = db.shadow(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE \"a;b?\" (id int PRIMARY KEY, v text)");
        }
    }

    @AfterAll
    static void stop() {
        db.close();
    }

    @Test
    void statementsRunInOrderAndEachGetsItsOutcome() throws SQLException {
        List<String> seen = new ArrayList<>();
        try (Connection c = db.shadow()) {
            c.setAutoCommit(false);
            OneTrip trip = new OneTrip();
            // A name with the separator and a placeholder in it stays one name.
            trip.add("INSERT INTO \"a;b?\" SELECT g, ? FROM generate_series(1, 3) g", (ps, first) -> {
                ps.setString(first, "x");
                return first + 1;
            }, (count, rows) -> seen.add("insert " + count));
            trip.add("SELECT count(*), min(v) FROM \"a;b?\" WHERE id >= ?", (ps, first) -> {
                ps.setInt(first, 2);
                return first + 1;
            }, (count, rows) -> {
                rows.next();
                seen.add("select " + rows.getLong(1) + " " + rows.getString(2));
            });
            trip.add("UPDATE \"a;b?\" SET v = ? WHERE id = ?", (ps, first) -> {
                ps.setString(first, "y");
                ps.setInt(first + 1, 3);
                return first + 2;
            }, (count, rows) -> seen.add("update " + count));
            trip.send(c);
            assertThat(trip.isEmpty()).isTrue();
            c.commit();
        }
        assertThat(seen).containsExactly("insert 3", "select 2 x", "update 1");
        assertThat(values()).containsExactly("1 x", "2 x", "3 y");
    }

    @Test
    void theFirstErrorEndsTheTrip() throws SQLException {
        List<String> seen = new ArrayList<>();
        try (Connection c = db.shadow()) {
            c.setAutoCommit(false);
            OneTrip trip = new OneTrip();
            trip.add("UPDATE \"a;b?\" SET v = 'z' WHERE id = 1", (ps, first) -> first, (count, rows) -> seen.add("first " + count));
            trip.add("SELECT 1 / 0", (ps, first) -> first, (count, rows) -> seen.add("division"));
            trip.add("UPDATE \"a;b?\" SET v = 'w' WHERE id = 2", (ps, first) -> first, (count, rows) -> seen.add("last " + count));
            assertThatThrownBy(() -> trip.send(c)).isInstanceOf(SQLException.class).hasMessageContaining("division by zero");
            c.rollback();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT current_setting('transaction_isolation')")) {
                assertThat(rs.next()).isTrue();
            }
        }
        assertThat(seen).isEmpty();
        assertThat(values()).doesNotContain("1 z", "2 w");
    }

    private static List<String> values() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = db.shadow(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, v FROM \"a;b?\" ORDER BY id")) {
            while (rs.next()) {
                out.add(rs.getInt(1) + " " + rs.getString(2));
            }
        }
        return out;
    }
}
