package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.TableRequests;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.source.ChangeSources;

/**
 * The command's side of a table request ({@link TableRequests}): writes it on the shadow and
 * waits for its outcome, printing its progress. The daemon that streams the pipeline serves it;
 * when none runs, the command runs the pipeline itself until its requests are served (streaming
 * catches up on the way, as {@code resume} would), so that the action still happens at its place
 * in the stream.
 */
final class TableRequestClient {

    private static final long POLL_MILLIS = 300;

    private final BackfillConfig config;
    private final CommandOutput out;

    TableRequestClient(BackfillConfig config, CommandOutput out) {
        this.config = config;
        this.out = out;
    }

    /** Whether a command of the pipeline holds its lock (a daemon that serves requests). */
    boolean daemonRuns() throws SQLException {
        try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
            return InstanceLock.holder(shadow, config.pipeline()).isPresent();
        }
    }

    /** Refuses a pipeline whose stream cannot serve requests: not started, its snapshot not done, or a reader without watermarks. */
    void checkStreamServesTableRequests(String what) throws SQLException {
        try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
            Optional<Checkpoint> checkpoint = new CheckpointStore(config.pipeline()).read(shadow);
            if (checkpoint.isEmpty()) {
                throw new SetupException(what + ": pipeline " + config.pipeline() + " has no checkpoint on the shadow "
                        + config.shadow().describe() + "; start it with `snapshot` or `cdc` first");
            }
            if (checkpoint.get().phase() != Phase.STREAMING || checkpoint.get().offset().isEmpty()) {
                throw new SetupException(what + ": the snapshot of pipeline " + config.pipeline() + " is not complete; run `resume`,"
                        + " which completes it, first");
            }
            Optional<String> why = ChangeSources.choose(config.streamSettings(), checkpoint.get().offset()).whyNoTableOperations();
            if (why.isPresent()) {
                throw new SetupException(what + ": pipeline " + config.pipeline() + " streams with " + why.get());
            }
        }
    }

    /** Writes a request; returns its id. */
    long submit(TableRequests.Action action, TableId table, List<List<String>> keys) throws SQLException {
        try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
            dev.scry.backfill.checkpoint.MetadataSchema.ensure(shadow);
            return new TableRequests(config.pipeline()).submit(shadow, action, table, keys);
        }
    }

    /**
     * Serves the requests written: waits for the running daemon, or runs the pipeline here until
     * none is open. Returns each request's outcome.
     */
    List<TableRequests.Request> serve(List<Long> ids) throws SQLException, InterruptedException {
        if (!daemonRuns()) {
            out.printf("no daemon runs pipeline %s: streaming here until the request%s served%n", config.pipeline(),
                    ids.size() == 1 ? " is" : "s are");
            try {
                new PipelineRunner(config, out).servingRequestsThenStopping().stream(PipelineRunner.Start.RESUME, false);
            }
            catch (RuntimeException e) {
                fail(ids, e.getMessage());
                throw e;
            }
        }
        List<TableRequests.Request> outcomes = new java.util.ArrayList<>();
        for (long id : ids) {
            outcomes.add(await(id));
        }
        return outcomes;
    }

    /** Waits for a request's outcome, printing its progress as the daemon reports it. */
    TableRequests.Request await(long id) throws SQLException, InterruptedException {
        TableRequests requests = new TableRequests(config.pipeline());
        String shown = null;
        while (true) {
            try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
                TableRequests.Request r = requests.get(shadow, id).orElseThrow();
                if (r.state().finished()) {
                    return r;
                }
                String now = r.state() == TableRequests.State.PENDING ? "waiting for the daemon" : r.progress();
                if (now != null && !now.equals(shown)) {
                    out.printf("%s %s: %s%n", r.action().label(), r.table(), now);
                    shown = now;
                }
                if (InstanceLock.holder(shadow, config.pipeline()).isEmpty()) {
                    throw new PipelineFailure("the daemon of pipeline " + config.pipeline() + " stopped before request " + id + " ("
                            + r.action().label() + " " + r.table() + ") was done; it stays queued and goes on when `cdc` or `resume`"
                            + " runs again");
                }
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** Prints an outcome; its exit code: 0 done, 2 refused (as asked; the message says how), 1 failed. */
    int report(TableRequests.Request r) {
        out.printf("%s %s: %s%n", r.action().label(), r.table(), r.message());
        return switch (r.state()) {
            case DONE -> Main.OK;
            case REFUSED -> Main.USAGE;
            default -> Main.FAILURE;
        };
    }

    private void fail(List<Long> ids, String why) {
        try (Connection shadow = Connect.open(config.shadow(), "shadow")) {
            TableRequests requests = new TableRequests(config.pipeline());
            for (long id : ids) {
                if (requests.get(shadow, id).map(r -> !r.state().finished()).orElse(false)) {
                    requests.finish(shadow, id, TableRequests.State.FAILED, "the pipeline could not run to serve it: " + why);
                }
            }
        }
        catch (SQLException | RuntimeException e) {
            // The request stays open; the next daemon serves it.
        }
    }
}
