package dev.scry.backfill.app;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM and SIGINT ask the running pipeline to stop gracefully. Handling the signals directly
 * (rather than in a shutdown hook) keeps the JVM alive while the batch in flight commits, and lets
 * the command exit with its own status instead of 143.
 */
final class Signals {

    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    private Signals() {
    }

    // A termination asked for while deferred (see deferTermination), for the next stop registered.
    private static final java.util.concurrent.atomic.AtomicBoolean PENDING_STOP = new java.util.concurrent.atomic.AtomicBoolean();

    static void onTermination(Runnable stop) {
        handleTermination(name -> {
            LOG.info("received SIG{}: finishing the batch in flight, then stopping", name);
            stop.run();
        });
        if (PENDING_STOP.getAndSet(false)) {
            stop.run();
        }
    }

    /**
     * From now until the next {@link #onTermination}, SIGTERM and SIGINT are remembered instead of
     * ending the JVM, and the stop registered next runs at once: for the moments between the stream
     * being requested (the slot is active from then on, which is how an operator, or a test, sees
     * that the daemon streams) and the run that takes it registering its stop.
     */
    static void deferTermination() {
        PENDING_STOP.set(false);
        handleTermination(name -> {
            LOG.info("received SIG{} while starting to stream: stopping once the stream has started", name);
            PENDING_STOP.set(true);
        });
    }

    private static void handleTermination(java.util.function.Consumer<String> handler) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), signal -> handler.accept(name));
            }
            catch (IllegalArgumentException e) {
                // The JVM reserves the signal (e.g. with -Xrs); the default handling still applies.
                LOG.debug("cannot handle SIG{}: {}", name, e.getMessage());
            }
        }
    }

    private static final java.util.List<Runnable> RELOADS = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static boolean reloading;
    // SIGHUPs handled so far: a listener that registers later can tell whether one came before it.
    private static final java.util.concurrent.atomic.AtomicLong RELOADED = new java.util.concurrent.atomic.AtomicLong();

    /** How many SIGHUPs this process has handled so far (see {@link #onReload(Runnable, long)}). */
    static long reloads() {
        return RELOADED.get();
    }

    /**
     * As {@link #onReload(Runnable)}, and runs {@code reload} at once when a SIGHUP came after
     * {@code seen} (a {@link #reloads()} read when the configuration was): one sent while the
     * listener was not registered yet is not lost to it.
     */
    static AutoCloseable onReload(Runnable reload, long seen) {
        AutoCloseable registered = onReload(reload);
        if (RELOADED.get() > seen) {
            reload.run();
        }
        return registered;
    }

    /**
     * SIGHUP: re-read what can change while running (the rate limit, the tables); each listener
     * runs, in the order they registered, until its handle is closed.
     */
    static synchronized AutoCloseable onReload(Runnable reload) {
        RELOADS.add(reload);
        if (!reloading) {
            try {
                SignalHandler before = Signal.handle(new Signal("HUP"), signal -> {
                    LOG.info("received SIGHUP: reloading the rate limit and the tables from the configuration file");
                    RELOADED.incrementAndGet();
                    RELOADS.forEach(Runnable::run);
                });
                reloading = true;
                if (before == SignalHandler.SIG_IGN) {
                    // HotSpot installs no handler for a SIGHUP ignored when the JVM started (nohup does
                    // that, for every child): the operator's `kill -HUP` would do nothing, silently.
                    LOG.warn("SIGHUP is ignored by this process (started under nohup?): `kill -HUP` cannot reload the rate limit"
                            + " or the tables; start the daemon without nohup (setsid, systemd, a container) to reload without a restart");
                }
            }
            catch (IllegalArgumentException e) {
                LOG.debug("cannot handle SIGHUP: {}", e.getMessage());
            }
        }
        return () -> RELOADS.remove(reload);
    }
}
