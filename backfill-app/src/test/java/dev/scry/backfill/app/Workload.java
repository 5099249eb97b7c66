package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.scry.backfill.testing.Databases;

/**
 * Writes a mixed stream of source transactions from a background thread, over the schema
 * {@link #createSchema} makes: multi-row transactions, updates (including primary-key changes),
 * deletes, inserts, and transfers that keep the sum of balances constant.
 */
final class Workload implements AutoCloseable {

    static final String[] TABLES = {"public.accounts", "public.events", "public.\"Pairs\"", "public.journal"};
    static final int ACCOUNTS = 200;
    /** Sum of all balances, which transfers preserve. */
    static final String TOTAL = "SELECT sum(balance)::bigint FROM public.accounts";

    private final Databases db;
    private final boolean transfersOnly;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong transactions = new AtomicLong();
    private final Thread thread;
    private volatile Throwable failure;

    static void createSchema(Connection c, int events) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("""
                    CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL,
                                           tags text[], meta jsonb, updated_at timestamptz)""");
            st.execute("""
                    CREATE TABLE events (id bigserial PRIMARY KEY, account_id int, kind text, payload jsonb,
                                         amount numeric, at timestamp(6) DEFAULT clock_timestamp())""");
            st.execute("""
                    CREATE TABLE "Pairs" (a text, b int, val double precision, blob bytea, PRIMARY KEY (a, b))""");
            // One row per workload transaction, never updated or deleted: on the shadow, its insert
            // count must equal its row count, or some change was applied twice.
            st.execute("CREATE TABLE journal (id bigserial PRIMARY KEY, kind int NOT NULL, at timestamptz DEFAULT clock_timestamp())");
            st.execute("INSERT INTO accounts SELECT g, 'owner ' || g, 1000, ARRAY['t' || g, NULL], jsonb_build_object('g', g),"
                    + " '2024-05-01 12:00:00+02'::timestamptz + g * interval '1 second' FROM generate_series(1, " + ACCOUNTS + ") g");
            st.execute("INSERT INTO events (account_id, kind, payload, amount) SELECT g % " + ACCOUNTS + ", 'seed',"
                    + " jsonb_build_object('n', g, 'list', jsonb_build_array(g, 'x', null)), g / 7.0 FROM generate_series(1, " + events + ") g");
            st.execute("INSERT INTO \"Pairs\" SELECT 'k' || (g % 50), g, g * 0.1, decode(lpad(to_hex(g), 8, '0'), 'hex')"
                    + " FROM generate_series(1, 500) g");
        }
    }

    Workload(Databases db, boolean transfersOnly, long seed) {
        this.db = db;
        this.transfersOnly = transfersOnly;
        this.thread = new Thread(() -> loop(new Random(seed)), "workload");
        this.thread.setDaemon(true);
    }

    Workload start() {
        thread.start();
        return this;
    }

    long transactions() {
        return transactions.get();
    }

    /** Opens the connection the workload writes through. */
    interface Connector {
        Connection open() throws SQLException;
    }

    private volatile Connector connector;
    private volatile long pauseMillis;

    /** Pauses between transactions: a writer that leaves the machine's cores to the servers and the pipeline. */
    Workload paced(java.time.Duration pause) {
        this.pauseMillis = pause.toMillis();
        return this;
    }

    /** Writes through {@code connector} instead of to the source database (e.g. to whichever server is the primary). */
    Workload writingThrough(Connector connector) {
        this.connector = connector;
        return this;
    }

    /** Keep writing through a source restart: a failed transaction is rolled back and tried on a new connection. */
    Workload surviveRestarts() {
        this.surviveRestarts = true;
        return this;
    }

    /** Transactions that failed because the source went away (none were committed). */
    long connectionFailures() {
        return connectionFailures.get();
    }

    private volatile boolean surviveRestarts;
    private final AtomicLong connectionFailures = new AtomicLong();

    private void loop(Random random) {
        while (running.get()) {
            try {
                loopOnce(random);
                return;
            }
            catch (SQLException e) {
                if (!surviveRestarts) {
                    failure = e;
                    return;
                }
                connectionFailures.incrementAndGet();
                try {
                    Thread.sleep(100);
                }
                catch (InterruptedException ie) {
                    return;
                }
            }
            catch (Throwable t) {
                failure = t;
                return;
            }
        }
    }

    private void loopOnce(Random random) throws SQLException {
        try (Connection c = connector == null ? db.source() : connector.open()) {
            c.setAutoCommit(false);
            while (running.get()) {
                int kind = transfersOnly ? 0 : random.nextInt(6);
                try (PreparedStatement journal = c.prepareStatement("INSERT INTO journal (kind) VALUES (?)")) {
                    journal.setInt(1, kind);
                    journal.executeUpdate();
                }
                switch (kind) {
                    case 0 -> transfer(c, random);
                    case 1 -> insertEvents(c, random);
                    case 2 -> deleteEvents(c, random);
                    case 3 -> updateAccounts(c, random);
                    case 4 -> movePairs(c, random);
                    default -> mixed(c, random);
                }
                c.commit();
                transactions.incrementAndGet();
                if (pauseMillis > 0) {
                    try {
                        Thread.sleep(pauseMillis);
                    }
                    catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    private static void transfer(Connection c, Random r) throws SQLException {
        int from = 1 + r.nextInt(ACCOUNTS);
        int to = 1 + r.nextInt(ACCOUNTS);
        int amount = 1 + r.nextInt(50);
        try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET balance = balance + ?, updated_at = clock_timestamp() WHERE id = ?")) {
            ps.setInt(1, -amount);
            ps.setInt(2, from);
            ps.executeUpdate();
            ps.setInt(1, amount);
            ps.setInt(2, to);
            ps.executeUpdate();
        }
    }

    private static void insertEvents(Connection c, Random r) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO events (account_id, kind, payload, amount)"
                + " SELECT ?, 'k' || g, jsonb_build_object('g', g, 'q', 'quote\"d'), g * 1.001 FROM generate_series(1, ?) g")) {
            ps.setInt(1, r.nextInt(ACCOUNTS));
            ps.setInt(2, 1 + r.nextInt(20));
            ps.executeUpdate();
        }
    }

    private static void deleteEvents(Connection c, Random r) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id % 97 = ? LIMIT 5)")) {
            ps.setInt(1, r.nextInt(97));
            ps.executeUpdate();
        }
    }

    private static void updateAccounts(Connection c, Random r) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET tags = tags || ?::text, meta = meta || jsonb_build_object('u', ?)"
                + " WHERE id % 20 = ?")) {
            ps.setString(1, "u" + r.nextInt(1000));
            ps.setInt(2, r.nextInt());
            ps.setInt(3, r.nextInt(20));
            ps.executeUpdate();
        }
    }

    private static void movePairs(Connection c, Random r) throws SQLException {
        // A primary-key change: Debezium turns it into a delete of the old key and an insert.
        try (PreparedStatement ps = c.prepareStatement("UPDATE \"Pairs\" SET b = b + 100000, val = val * 2 WHERE a = ? AND b < 100000"
                + " AND b % 10 = ?")) {
            ps.setString(1, "k" + r.nextInt(50));
            ps.setInt(2, r.nextInt(10));
            ps.executeUpdate();
        }
    }

    private static void mixed(Connection c, Random r) throws SQLException {
        transfer(c, r);
        insertEvents(c, r);
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO \"Pairs\" VALUES (?, ?, ?, ?) ON CONFLICT (a, b) DO UPDATE SET val = EXCLUDED.val")) {
            ps.setString(1, "n" + r.nextInt(100));
            ps.setInt(2, r.nextInt(1000));
            ps.setDouble(3, r.nextDouble());
            ps.setBytes(4, new byte[] {0, (byte) r.nextInt(256), 0});
            ps.executeUpdate();
        }
    }

    /** Stops writing; rethrows a failure of the writer. Returns the number of committed transactions. */
    long stop() throws InterruptedException {
        running.set(false);
        thread.join(30_000);
        if (failure != null) {
            throw new AssertionError("the workload failed", failure);
        }
        return transactions.get();
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
