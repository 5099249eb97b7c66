package dev.scry.backfill.app;

import java.sql.SQLException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SqlErrors;

/**
 * Work that {@code cdc} repeats on a thread of its own while it streams (sequence values, the
 * schema drift check): one round every interval, a failed round logged and the next one trying
 * again, nothing left running once closed.
 */
final class Periodic implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Periodic.class);

    interface Round {
        void run() throws SQLException, InterruptedException;
    }

    private final String what;
    private final long everyMs;
    private final boolean firstAtOnce;
    private final Round round;
    private final Thread thread;
    private volatile boolean closed;

    /**
     * @param what        what a round does, for the log ("copying sequence values")
     * @param everyMs     the pause between rounds; 0 runs a first round at once and no more
     * @param firstAtOnce whether the first round runs at once or after one pause
     */
    Periodic(String threadName, String what, long everyMs, boolean firstAtOnce, Round round) {
        this.what = what;
        this.everyMs = everyMs;
        this.firstAtOnce = firstAtOnce;
        this.round = round;
        this.thread = new Thread(this::loop, threadName);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    boolean closed() {
        return closed;
    }

    private void loop() {
        boolean first = firstAtOnce;
        while (!closed) {
            try {
                if (!first) {
                    if (everyMs == 0) {
                        return;
                    }
                    Thread.sleep(everyMs);
                }
                first = false;
                if (closed) {
                    return;
                }
                round.run();
            }
            catch (InterruptedException e) {
                return;
            }
            catch (SQLException | RuntimeException e) {
                if (closed) {
                    return;
                }
                LOG.warn("{} failed ({}); trying again in {} ms", what, e instanceof SQLException s ? SqlErrors.describe(s) : e.toString(),
                        everyMs);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
