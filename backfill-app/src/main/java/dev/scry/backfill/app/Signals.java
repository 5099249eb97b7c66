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
                SignalHandler before = Signal.handle(new Signal("HUP"), signal -> {
                    LOG.info("received SIGHUP: reloading the rate limit and the tables from the configuration file");
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
