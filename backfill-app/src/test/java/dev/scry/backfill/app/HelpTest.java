package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import picocli.CommandLine;

/** Help needs no configuration: every way of asking for it prints usage on stdout and exits 0. */
class HelpTest {

    private record Outcome(int exitCode, String out, String err) {
    }

    private static Outcome run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Every subcommand the command line has, so that one added later is covered too. */
    static Stream<String> commands() {
        return Main.commandLine().getSubcommands().keySet().stream().filter(name -> !name.equals("help"));
    }

    @ParameterizedTest
    @MethodSource("commands")
    void everySubcommandsHelpOptionsPrintItsUsageWithoutAConfig(String command) {
        for (String option : List.of("--help", "-h")) {
            Outcome help = run(command, option);

            assertThat(help.exitCode()).as(command + " " + option + ": " + help.err()).isZero();
            assertThat(help.out()).as(command + " " + option).contains("Usage: backfill " + command).contains("--config");
            assertThat(help.err()).as(command + " " + option).isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("commands")
    void helpFollowedByACommandPrintsThatCommandsUsage(String command) {
        Outcome help = run("help", command);

        assertThat(help.exitCode()).as(help.err()).isZero();
        assertThat(help.out()).contains("Usage: backfill " + command);
        assertThat(help.err()).isEmpty();
    }

    @Test
    void helpAloneListsTheCommands() {
        for (String[] args : List.of(new String[] {"help"}, new String[] {"--help"}, new String[] {"-h"})) {
            Outcome help = run(args);

            assertThat(help.exitCode()).as(String.join(" ", args) + ": " + help.err()).isZero();
            assertThat(help.out()).contains("Usage: backfill", "snapshot", "cdc", "resume", "status", "verify", "teardown", "dlq");
            assertThat(help.err()).isEmpty();
        }
    }

    @Test
    void noCommandAtAllIsAUsageErrorThatShowsTheCommands() {
        Outcome none = run();

        assertThat(none.exitCode()).isEqualTo(Main.USAGE);
        assertThat(none.err()).contains("Missing required subcommand", "Usage: backfill", "snapshot");
        assertThat(none.out()).isEmpty();
    }

    @Test
    void aCommandLineNamingItsCommandFirstBuildsThatCommandAlone() {
        // Building every command's model cost a tenth of a second of CPU at each start.
        assertThat(Main.commandLine("cdc", "-c", "c.yaml", "--exit-when-caught-up").getSubcommands().keySet()).containsExactly("cdc");
        assertThat(Main.commandLine("help", "cdc").getSubcommands()).containsKeys("cdc", "status", "help");
        assertThat(Main.commandLine("--log-format", "json", "cdc").getSubcommands()).containsKeys("cdc", "status", "help");
    }

    @Test
    void aCommandWithoutItsConfigIsStillAUsageError() {
        Outcome missing = run("snapshot");

        assertThat(missing.exitCode()).isEqualTo(Main.USAGE);
        assertThat(missing.err()).contains("Missing required option: '--config=FILE'");
    }
}
