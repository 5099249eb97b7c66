package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.Callable;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.config.ConfigLoader;
import dev.scry.backfill.app.verify.Verifier;
import dev.scry.backfill.app.verify.VerifyReport;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.error.TransientException;
import dev.scry.backfill.checkpoint.TableRequests;
import dev.scry.backfill.model.TableId;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code backfill} command line. Exit codes: 0 success, 1 runtime failure, 2 usage or
 * configuration error (including a source that is not prepared), 3 verification found differences.
 */
// INHERIT gives every subcommand -h/--help (and -V); picocli validates no required option, such as
// --config, when help is asked for. The subcommands are added by commandLine(), not listed here.
@Command(name = "backfill", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "scry-backfill 0.1.0",
        description = "Copies a PostgreSQL database into a shadow PostgreSQL and keeps it in step through logical replication.")
public final class Main {

    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;
    public static final int DIFFERENT = 3;

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    /** The subcommands, in the order `backfill help` lists them (then `help` itself). */
    private static final java.util.List<Class<?>> COMMANDS = java.util.List.of(SnapshotCommand.class, SnapshotWorkerCommandLine.class,
            CdcCommand.class, ResumeCommand.class, StatusCommand.class, TeardownCommand.class, VerifyCommand.class, RepairCommand.class,
            DlqCommand.class, TableCommand.class);

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command line and returns its exit code (tests call this in-process). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        LogFormat.use(LogFormat.requested(args));
        CommandOutput output = CommandOutput.to(out);
        CommandLine cli = commandLine(args);
        cli.setOut(output);
        cli.setErr(new PrintWriter(err, true));
        CommandLine.IParameterExceptionHandler usage = cli.getParameterExceptionHandler();
        cli.setParameterExceptionHandler((e, arguments) -> {
            if (!LogFormat.json()) {
                return usage.handleParseException(e, arguments);
            }
            err.println(LogFormat.errorLine(e.getMessage() + "; `backfill help` lists the commands and options"));
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof SetupException) {
                err.println(LogFormat.errorLine(e.getMessage()));
                return USAGE;
            }
            if (e instanceof PipelineFailure || e instanceof TransientException) {
                // A transient fault that reached here outlasted its retries (or came before anything retries it).
                err.println(LogFormat.errorLine(e.getMessage()));
                LOG.debug("failure", e);
                return FAILURE;
            }
            err.println(LogFormat.errorLine(e.toString()));
            LOG.error("unexpected failure", e);
            return FAILURE;
        });
        try {
            return cli.execute(args);
        }
        finally {
            output.close(); // the stream stays open; a last line without its newline is written
        }
    }

    /**
     * The command line for {@code args}. picocli builds each command's model by reflection, which
     * took a quarter of a second for the whole tree on two cores, at the start of every command:
     * a command line that names its command first (how every command is run) gets that command
     * alone, which parses, helps and refuses exactly as it does in the whole tree (a subcommand
     * parses only its own options and parameters). Anything else ({@code help}, no command, an
     * unknown one, {@code -V}) gets every command.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(new Main());
        String first = args.length > 0 ? args[0] : "";
        for (Class<?> command : COMMANDS) {
            if (command.getAnnotation(Command.class).name().equals(first)) {
                return cli.addSubcommand(command);
            }
        }
        COMMANDS.forEach(cli::addSubcommand);
        return cli.addSubcommand(CommandLine.HelpCommand.class);
    }

    /** Options every command takes. */
    abstract static class ConfigOption {
        @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The pipeline's YAML configuration.")
        Path config;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text",
                description = "text (default) or json: then every line on stdout and stderr is one JSON object.")
        String logFormat;

        BackfillConfig load() {
            LogFormat.use(logFormat);
            BackfillConfig loaded = new ConfigLoader().load(config);
            // Conscrypt's native library takes a while to load, for nothing where no connection can use TLS.
            if (!"disable".equals(loaded.source().sslMode()) || !"disable".equals(loaded.shadow().sslMode())
                    || System.getenv(TlsProvider.VARIABLE) != null) {
                TlsProvider.install(System.getenv(TlsProvider.VARIABLE));
            }
            org.slf4j.MDC.put("pipeline", loaded.pipeline());
            return loaded;
        }

        /** The command's output (Main.run hands picocli a {@link CommandOutput}). */
        CommandOutput out() {
            return (CommandOutput) spec.commandLine().getOut();
        }
    }

    @Command(name = "snapshot", description = "Copy the configured tables consistently with a new replication slot, then exit.")
    static final class SnapshotCommand extends ConfigOption implements Callable<Integer> {
        @Override
        public Integer call() throws SQLException, InterruptedException {
            return new PipelineCommands(load(), out()).snapshot();
        }
    }

    @Command(name = "snapshot-worker", description = "While a copy `snapshot` runs (on this machine or another), copy some of its"
            + " parts: claim one, import the snapshot's exported snapshot, copy, commit; exit 0 when no part is left.")
    static final class SnapshotWorkerCommandLine extends ConfigOption implements Callable<Integer> {
        @Option(names = "--wait-s", defaultValue = "0", description = "Wait up to this long for a snapshot to start before refusing"
                + " (default ${DEFAULT-VALUE}: refuse at once with exit 2).")
        long waitSeconds;

        @Override
        public Integer call() throws SQLException, InterruptedException {
            return new SnapshotWorkerCommand(load(), out()).run(waitSeconds);
        }
    }

    @Command(name = "cdc", description = "Stream changes from the slot into the shadow until stopped (SIGTERM/SIGINT finish the batch in flight).")
    static final class CdcCommand extends ConfigOption implements Callable<Integer> {
        @Option(names = "--exit-when-caught-up", description = "Exit 0 once every change committed on the source before the start is applied.")
        boolean exitWhenCaughtUp;

        @Override
        public Integer call() throws SQLException, InterruptedException {
            return new PipelineCommands(load(), out()).stream(PipelineCommands.Start.CDC, exitWhenCaughtUp);
        }
    }

    @Command(name = "resume", description = "Continue from the stored checkpoint: complete an interrupted snapshot, then stream.")
    static final class ResumeCommand extends ConfigOption implements Callable<Integer> {
        @Option(names = "--exit-when-caught-up", description = "Exit 0 once every change committed on the source before the start is applied.")
        boolean exitWhenCaughtUp;

        @Option(names = "--snapshot-if-new", description = "A pipeline without a checkpoint takes its snapshot first (as `snapshot` does),"
                + " then streams, instead of exiting 2: one command for a daemon that starts new pipelines too.")
        boolean snapshotIfNew;

        @Override
        public Integer call() throws SQLException, InterruptedException {
            return new PipelineCommands(load(), out()).stream(snapshotIfNew ? PipelineCommands.Start.RESUME_OR_SNAPSHOT : PipelineCommands.Start.RESUME,
                    exitWhenCaughtUp);
        }
    }

    @Command(name = "status", description = "Show what runs and what can resume, the phase, checkpoint, rows applied per table and the slot's lag.")
    static final class StatusCommand extends ConfigOption implements Callable<Integer> {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws SQLException {
            new StatusReport(load()).print(out(), json);
            return OK;
        }
    }

    @Command(name = "teardown", description = "Drop the replication slot and the publication (and with --drop-metadata the checkpoint).")
    static final class TeardownCommand extends ConfigOption implements Callable<Integer> {
        @Option(names = "--drop-metadata", description = "Also remove the pipeline's checkpoint and counters from the shadow.")
        boolean dropMetadata;

        @Override
        public Integer call() throws SQLException {
            new Teardown(load()).run(out(), dropMetadata);
            return OK;
        }
    }

    @Command(name = "verify", description = "Compare source and shadow table by table; exit 0 when equal, 3 when not.")
    static final class VerifyCommand extends ConfigOption implements Callable<Integer> {
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Option(names = "--max-keys", defaultValue = "10", description = "Differing keys to list per table (default ${DEFAULT-VALUE}).")
        int maxKeys;

        @Option(names = "--wait-s", defaultValue = "30", description = "While cdc runs: how long to wait for it to apply what the source"
                + " committed before a comparison (default ${DEFAULT-VALUE}); a table still behind then is reported as such.")
        int waitSeconds;

        @Option(names = "--schema", description = "Compare the schema instead of the rows: objects missing, extra or different on the"
                + " shadow (indexes, constraints, defaults, columns, views, functions, triggers, partitions, comments).")
        boolean schema;

        @Override
        public Integer call() throws SQLException, InterruptedException {
            BackfillConfig config = load();
            try (java.sql.Connection source = ConnectionFactory.open(config.source(), "source");
                 java.sql.Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
                if (schema) {
                    dev.scry.backfill.sink.schema.SchemaDrift.Report report = SchemaVerify.run(config, source, shadow);
                    if (json) {
                        out().document(SchemaVerify.document(report));
                    }
                    else {
                        SchemaVerify.print(out(), config.pipeline(), report);
                    }
                    return report.equal() ? OK : DIFFERENT;
                }
                VerifyReport report = new Verifier(TableMembership.of(config, source, shadow), Math.max(0, maxKeys))
                        .notComparing(TableStatesReport.notCompared(config.pipeline(), shadow))
                        .catchUpWait(java.time.Duration.ofSeconds(Math.max(0, waitSeconds))).run(source, shadow);
                if (json) {
                    out().document(report.document());
                }
                else {
                    report.print(out());
                }
                return report.equal() ? OK : DIFFERENT;
            }
        }
    }

    @Command(name = "repair", description = "Find the rows that differ (as verify does) and read exactly those again from the source while"
            + " cdc runs, by chunks between watermarks; exit 0 when they are equal afterwards, 3 when not.")
    static final class RepairCommand extends ConfigOption implements Callable<Integer> {
        @Option(names = "--table", paramLabel = "TABLE", description = "Only this table (schema.table, as SQL writes it).")
        String table;

        @Option(names = "--max-keys", defaultValue = "10", description = "Differing keys to list per table (default ${DEFAULT-VALUE}).")
        int maxKeys;

        @Override
        public Integer call() throws SQLException, InterruptedException {
            return new Repair(load(), out(), Math.max(0, maxKeys)).run(table);
        }
    }

    @Command(name = "table", description = "Act on one table while cdc runs (or, with none running, through the stream run here):"
            + " add (copy it in key-ordered chunks between watermarks, then stream it), remove (take it out of the publication; its"
            + " shadow table stays), pause (hold its changes on the shadow), resume (apply them in order and stream again), resnapshot"
            + " (copy it again by chunks; with cdc stopped, under a SHARE lock, the way on after a change the stream could not apply).")
    static final class TableCommand extends ConfigOption implements Callable<Integer> {
        @CommandLine.Parameters(index = "0", paramLabel = "ACTION", description = "add, remove, pause, resume or resnapshot")
        String action;

        @CommandLine.Parameters(index = "1", paramLabel = "TABLE", description = "schema.table, as SQL writes it")
        String table;

        @Override
        public Integer call() throws SQLException, InterruptedException {
            TableRequests.Action what = switch (action) {
                case "add" -> TableRequests.Action.ADD;
                case "remove" -> TableRequests.Action.REMOVE;
                case "pause" -> TableRequests.Action.PAUSE;
                case "resume" -> TableRequests.Action.RESUME;
                case "resnapshot" -> TableRequests.Action.RESNAPSHOT;
                default -> throw new SetupException("unknown table action '" + action + "'; use add, remove, pause, resume or resnapshot:"
                        + " `table <action> <schema.table> -c <config>`");
            };
            TableId id;
            try {
                id = TableId.parse(table);
            }
            catch (IllegalArgumentException e) {
                throw new SetupException("table " + action + ": " + e.getMessage(), e);
            }
            BackfillConfig config = load();
            TableRequestClient client = new TableRequestClient(config, out());
            if (what == TableRequests.Action.RESNAPSHOT && !client.daemonRuns()) {
                // The way on after a change the stream cannot apply: no stream could run to serve it.
                return new TableResnapshot(config, out()).run(table);
            }
            client.checkStreamServesTableRequests("table " + action);
            long request = client.submit(what, id, null);
            return client.report(client.serve(java.util.List.of(request)).get(0));
        }
    }

    @Command(name = "dlq", description = "Dead letters (errors.tolerance: all): list | show ID | replay [ID] | purge.")
    static final class DlqCommand extends ConfigOption implements Callable<Integer> {
        @CommandLine.Parameters(index = "0", paramLabel = "ACTION", description = "list, show, replay or purge")
        String action;

        @CommandLine.Parameters(index = "1", arity = "0..1", paramLabel = "ID", description = "A dead letter's id (show; replay)")
        Long id;

        @Override
        public Integer call() throws SQLException {
            DeadLetterCommands dlq = new DeadLetterCommands(load(), out());
            return switch (action) {
                case "list" -> dlq.list();
                case "show" -> {
                    if (id == null) {
                        throw new SetupException("dlq show needs the id of a dead letter; `dlq list` shows them");
                    }
                    yield dlq.show(id);
                }
                case "replay" -> dlq.replay(id);
                case "purge" -> dlq.purge();
                default -> throw new SetupException("unknown dlq action '" + action + "'; use list, show ID, replay [ID] or purge");
            };
        }
    }
}
