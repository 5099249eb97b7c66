package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.scry.backfill.testing.Databases;

/**
 * A writer on the source that never stops to wait for the test: one-row updates (and now and then
 * an insert and a delete) of a table {@code (id int PRIMARY KEY, v ...)} in autocommit, each
 * timed, so that a test can show what an operation on the same table cost the writer.
 */
final class SourceWriter implements AutoCloseable {

    private final Databases db;
    private final String table;
    private final int maxId;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong writes = new AtomicLong();
    private final List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
    private final Thread thread;
    private volatile Throwable failure;
    private volatile boolean measuring;

    SourceWriter(Databases db, String table, int maxId) {
        this.db = db;
        this.table = table;
        this.maxId = maxId;
        this.thread = new Thread(this::loop, "source-writer");
        this.thread.setDaemon(true);
    }

    SourceWriter start() {
        thread.start();
        return this;
    }

    /** From now on each write's latency is kept. */
    void measure(boolean on) {
        measuring = on;
    }

    long writes() {
        return writes.get();
    }

    private void loop() {
        Random random = new Random(42);
        try (Connection c = db.source();
             PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET v = v || 'u' WHERE id = ?");
             PreparedStatement insert = c.prepareStatement("INSERT INTO " + table + " (id, v) VALUES (?, 'new') ON CONFLICT DO NOTHING");
             PreparedStatement delete = c.prepareStatement("DELETE FROM " + table + " WHERE id = ?")) {
            long n = 0;
            while (running.get()) {
                n++;
                int id = 1 + random.nextInt(maxId);
                PreparedStatement ps = n % 50 == 0 ? insert : n % 50 == 25 ? delete : update;
                ps.setInt(1, ps == insert ? maxId + (int) n : id);
                // Whether a write counts is decided when it starts: one that waited through the whole operation counts.
                boolean counted = measuring;
                long started = System.nanoTime();
                ps.executeUpdate();
                if (counted) {
                    latencies.add(System.nanoTime() - started);
                }
                writes.incrementAndGet();
                Thread.sleep(2);
            }
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        catch (Throwable t) {
            failure = t;
        }
    }

    /** Latency in milliseconds at a percentile (0..100) of the measured writes. */
    double percentileMillis(double p) {
        List<Long> copy;
        synchronized (latencies) {
            copy = new ArrayList<>(latencies);
        }
        if (copy.isEmpty()) {
            return 0;
        }
        Collections.sort(copy);
        int i = (int) Math.min(copy.size() - 1, Math.ceil(p / 100 * copy.size()) - 1);
        return copy.get(Math.max(0, i)) / 1e6;
    }

    int measured() {
        return latencies.size();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(10_000);
        if (failure != null) {
            throw new AssertionError("the writer failed", failure);
        }
    }
}
