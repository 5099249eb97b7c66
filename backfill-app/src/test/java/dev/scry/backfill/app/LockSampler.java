package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.scry.backfill.testing.Databases;

/**
 * Samples pg_locks on the source every few milliseconds while an operation runs: any lock on a
 * table that a session waits for, and any lock a session of scry-backfill holds on a table that
 * would make a writer (ROW EXCLUSIVE) wait. A copy that never makes a writer wait shows neither.
 */
final class LockSampler implements AutoCloseable {

    private static final String SAMPLE = """
            SELECT l.relation::regclass::text || ' ' || l.mode || CASE WHEN l.granted THEN ' held by ' ELSE ' awaited by ' END
                   || coalesce(a.application_name, '?')
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.relation::regclass::text NOT LIKE 'pg\\_%'
              AND (NOT l.granted OR (a.application_name LIKE 'scry-backfill%'
                   AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')))""";

    private final Databases db;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<String> seen = Collections.synchronizedList(new ArrayList<>());
    private final Thread thread;
    private volatile int samples;

    LockSampler(Databases db) {
        this.db = db;
        this.thread = new Thread(this::loop, "lock-sampler");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void loop() {
        try (Connection c = db.source(); PreparedStatement ps = c.prepareStatement(SAMPLE)) {
            while (running.get()) {
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        seen.add(rs.getString(1));
                    }
                }
                samples++;
                Thread.sleep(5);
            }
        }
        catch (Exception e) {
            seen.add("sampling failed: " + e);
        }
    }

    /** What the samples found: waits on table locks, and locks held by scry-backfill that writers would wait for. */
    List<String> seen() {
        return List.copyOf(seen);
    }

    int samples() {
        return samples;
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(5_000);
    }
}
