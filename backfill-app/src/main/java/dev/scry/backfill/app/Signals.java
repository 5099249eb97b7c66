package dev.scry.backfill.app;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT ask the running pipeline to stop gracefully. Handling the signals directly
 * (rather than in a shutdown hook) keeps the JVM alive while the batch in flight commits, and lets
 * the command exit with its own status instead of 143.
 */
final class Signals {

    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    private Signals() {
    }

    static void onTermination(Runnable stop) {
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), signal -> {
                    LOG.info("received SIG{}: finishing the batch in flight, then stopping", name);
                    stop.run();
                });
            }
            catch (IllegalArgumentException e) {
                // The JVM reserves the signal (e.g. with -Xrs); the default handling still applies.
                LOG.debug("cannot handle SIG{}: {}", name, e.getMessage());
            }
        }
    }

    private static final java.util.List<Runnable> RELOADS = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static boolean reloading;

    /**
     * SIGHUP: re-read what can change while running (the rate limit, the tables); each listener
     * runs, in the order they registered, until its handle is closed.
     */
    static synchronized AutoCloseable onReload(Runnable reload) {
        RELOADS.add(reload);
        if (!reloading) {
            try {
                Signal.handle(new Signal("HUP"), signal -> {
                    LOG.info("received SIGHUP: reloading the rate limit and the tables from the configuration file");
                    RELOADS.forEach(Runnable::run);
                });
                reloading = true;
            }
            catch (IllegalArgumentException e) {
                LOG.debug("cannot handle SIGHUP: {}", e.getMessage());
            }
        }
        return () -> RELOADS.remove(reload);
    }
}
