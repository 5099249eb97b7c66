package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.testing.PgPair;

/**
 * The container image's entrypoint ({@code deploy/image/usr/local/bin/backfill}), run against this
 * module's classpath in place of the image's {@code /app}: it starts Main with the launcher's JVM
 * options and everything it writes arrives on stdout.
 */
class ImageEntrypointTest {

    private static final Path ENTRYPOINT = PgPair.repositoryRoot().resolve("deploy/image/usr/local/bin/backfill");

    @TempDir
    Path app;

    @Test
    void runsMainWritingEverythingToStdout() throws Exception {
        Files.writeString(app.resolve("jib-classpath-file"), System.getProperty("java.class.path"));
        Path config = app.resolve("bad.yaml");
        Files.writeString(config, "pipeline: image\nnope: 1\n");
        Path stdout = app.resolve("stdout");
        Path stderr = app.resolve("stderr");
        ProcessBuilder pb = new ProcessBuilder("sh", ENTRYPOINT.toString(), "status", "-c", config.toString(), "--log-format", "json")
                .redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        pb.environment().put("BACKFILL_APP_DIR", app.toString());
        pb.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + ":" + System.getenv("PATH"));
        Process p = pb.start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(p.exitValue()).as(Files.readString(stdout)).isEqualTo(2);
        assertThat(Files.readString(stderr)).as("stderr").isEmpty();
        List<String> lines = Files.readAllLines(stdout, StandardCharsets.UTF_8);
        assertThat(lines).hasSize(1);
        assertThat(new ObjectMapper().readTree(lines.get(0)).get("message").asText()).contains("nope is not a known key");
    }

    @Test
    void startsTheJvmWithEveryOptionOfTheLauncher() throws Exception {
        List<String> launcher = options(PgPair.repositoryRoot().resolve("scripts/backfill"), "BACKFILL_JAVA_DEFAULTS=\"([^\"]*)\"");
        List<String> image = options(ENTRYPOINT, "BACKFILL_JAVA_OPTS-\"([^\"]*)\"");

        assertThat(launcher).isNotEmpty();
        assertThat(image).containsAll(launcher).contains("-XX:+ExitOnOutOfMemoryError");
    }

    private static List<String> options(Path script, String pattern) throws Exception {
        Matcher m = Pattern.compile(pattern).matcher(Files.readString(script));
        assertThat(m.find()).as(script + " sets its JVM options with " + pattern).isTrue();
        return Arrays.asList(m.group(1).trim().split("\\s+"));
    }
}
