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

/** {@code --log-format json}: every line on stderr is one JSON object, with the pipeline and phase. */
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
                if (line.isBlank() || line.startsWith("snapshot of pipeline") || line.startsWith("  public.") || line.startsWith("pipeline ")) {
                    continue; // command output on stdout, merged into the same file by the test
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
}
