package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.testing.PgPair;

/**
 * {@code --log-format json}: every line the process writes, on stdout and stderr, is one JSON
 * object; log lines and command output carry the pipeline and phase.
 */
class LogFormatIT extends PipelineTest {

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("logs_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, secret text)");
            st.execute("INSERT INTO t SELECT g, 'value-' || g FROM generate_series(1, 100) g");
        }
        pipeline = new Pipeline(db, dir, List.of("public.t"), "");
    }

    @Test
    void everyLineParsesAsJsonAndCarriesNoRowValues() throws Exception {
        Path snapshotLog = dir.resolve("snapshot.log");
        Process snapshot = pipeline.spawn(snapshotLog, "snapshot", "--log-format", "json");
        assertThat(Pipeline.waitFor(snapshot, Duration.ofSeconds(120))).isZero();
        pipeline.source("UPDATE t SET secret = 'changed-' || id");
        Path cdcLog = dir.resolve("cdc.log");
        Process cdc = pipeline.spawn(cdcLog, "cdc", "--exit-when-caught-up", "--log-format", "json");
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(120))).isZero();
        Path badLog = dir.resolve("bad.log");
        Files.writeString(dir.resolve("bad.yaml"), "pipeline: x\nnope: 1\n");
        Process bad = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "status", "-c", dir.resolve("bad.yaml").toString(),
                "--log-format", "json").redirectErrorStream(true).redirectOutput(badLog.toFile()).start();
        assertThat(Pipeline.waitFor(bad, Duration.ofSeconds(60))).isEqualTo(2);

        ObjectMapper json = new ObjectMapper();
        int lines = 0;
        boolean sawPhase = false;
        for (Path log : List.of(snapshotLog, cdcLog, badLog)) {
            for (String line : Files.readAllLines(log)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = json.readTree(line);
                assertThat(node.has("timestamp") && node.has("level") && node.has("logger") && node.has("message")).as(line).isTrue();
                assertThat(line).as("row values never appear in logs").doesNotContain("value-").doesNotContain("changed-");
                sawPhase |= node.has("phase") && node.has("pipeline");
                lines++;
            }
        }
        assertThat(lines).isGreaterThan(5);
        assertThat(sawPhase).isTrue();
        assertThat(Files.readString(badLog)).contains("\"level\":\"ERROR\"").contains("nope is not a known key");
    }

    @Test
    void bothStreamsOfASnapshotAndOfADaemonStoppedBySigtermAreJsonLines() throws Exception {
        Path snapshotOut = dir.resolve("snapshot.out");
        Path snapshotErr = dir.resolve("snapshot.err");
        Process snapshot = pipeline.spawn(snapshotOut, snapshotErr, "snapshot", "--log-format", "json");
        assertThat(Pipeline.waitFor(snapshot, Duration.ofSeconds(120))).isZero();
        Path cdcOut = dir.resolve("cdc.out");
        Path cdcErr = dir.resolve("cdc.err");
        Process cdc = pipeline.spawn(cdcOut, cdcErr, "cdc", "--log-format", "json");
        pipeline.awaitStreaming();
        pipeline.source("UPDATE t SET secret = 'changed-' || id");
        Pipeline.await("the update is applied", Duration.ofSeconds(60), Pipeline.sql(() ->
                pipeline.shadowLong("SELECT count(*) FROM t WHERE secret LIKE 'changed-%'") == 100));
        cdc.destroy();
        assertThat(Pipeline.waitFor(cdc, Duration.ofSeconds(60))).isZero();

        List<JsonNode> snapshotOutput = jsonLines(snapshotOut);
        jsonLines(snapshotErr);
        List<JsonNode> cdcOutput = jsonLines(cdcOut);
        List<JsonNode> cdcLogs = jsonLines(cdcErr);

        assertThat(snapshotOutput).anySatisfy(line -> assertThat(line.get("message").asText()).startsWith("snapshot of pipeline"));
        assertThat(cdcOutput).anySatisfy(line -> assertThat(line.get("message").asText()).startsWith("pipeline " + db.name() + " stopped"));
        assertThat(cdcLogs).anySatisfy(line -> assertThat(line.get("message").asText()).contains("received SIGTERM"));
    }

    @Test
    void statusAndVerifyDocumentsAreOneLineEachAndTheirTextIsJsonEvents() throws Exception {
        assertThat(pipeline.run("snapshot").exitCode()).isZero();

        for (String[] command : List.of(new String[] {"status", "--json"}, new String[] {"verify", "--json"},
                new String[] {"status"}, new String[] {"verify"}, new String[] {"teardown"})) {
            String[] options = java.util.stream.Stream.concat(java.util.Arrays.stream(command).skip(1), java.util.stream.Stream.of("--log-format", "json"))
                    .toArray(String[]::new);
            Pipeline.Outcome outcome = pipeline.run(command[0], options);
            assertThat(outcome.exitCode()).as(outcome.err()).isZero();
            List<String> lines = outcome.out().lines().filter(l -> !l.isBlank()).toList();
            if (command.length == 2) {
                assertThat(lines).as(String.join(" ", command)).hasSize(1);
                assertThat(new ObjectMapper().readTree(lines.get(0)).has("tables")).isTrue();
            }
            else {
                assertThat(lines).as(String.join(" ", command)).hasSizeGreaterThan(1);
                for (String line : lines) {
                    assertThat(new ObjectMapper().readTree(line).has("message")).as(line).isTrue();
                }
            }
            for (String line : outcome.err().lines().filter(l -> !l.isBlank()).toList()) {
                new ObjectMapper().readTree(line);
            }
        }
    }

    /** Every line of the file as a JSON log event (timestamp, level, logger, message); fails on anything else. */
    private static List<JsonNode> jsonLines(Path file) throws Exception {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = new ObjectMapper().readTree(line);
            }
            catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new AssertionError(file.getFileName() + " has a line that is not JSON: " + line, e);
            }
            assertThat(node.isObject() && node.has("timestamp") && node.has("level") && node.has("logger") && node.has("message"))
                    .as(file.getFileName() + ": " + line).isTrue();
            assertThat(line).as("row values never appear in logs").doesNotContain("value-").doesNotContain("changed-");
            out.add(node);
        }
        return out;
    }
}
