package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.scry.backfill.testing.PgPair;

/**
 * scripts/backfill's class-data archives: a command's first run records one, a later launch adopts
 * it only once a trial start proves it whole, and nothing of it reaches the command's output. The
 * archive tests run with the JVM Maven runs (Java 17: AppCDS) and with the newest Java 25 or later
 * under /usr/lib/jvm when there is one (its ahead-of-time cache), which the launcher picks itself.
 */
class LauncherIT extends PipelineTest {

    private record Launch(int exitCode, String out, String err) {
    }

    private Path cds;
    /** The java binary the launcher is told to run (BACKFILL_JAVA); null: the launcher's choice. */
    private Path launcherJava;

    private static final Path JVMS = Path.of("/usr/lib/jvm");

    /** Maven's JVM, and the newest JVM of Java 25 or later under /usr/lib/jvm when there is one. */
    static Stream<Path> javas() throws IOException {
        Path own = Path.of(System.getProperty("java.home"), "bin", "java");
        return Stream.concat(Stream.of(own), newestJava().filter(home -> major(home) >= 25).map(home -> home.resolve("bin/java")).stream());
    }

    private static Optional<Path> newestJava() throws IOException {
        if (!Files.isDirectory(JVMS)) {
            return Optional.empty();
        }
        try (Stream<Path> homes = Files.list(JVMS)) {
            return homes.filter(home -> Files.isExecutable(home.resolve("bin/java"))).max(Comparator.comparingInt(LauncherIT::major));
        }
    }

    /** The major version in a JVM home's release file, 0 without one. */
    private static int major(Path home) {
        try {
            Matcher m = Pattern.compile("(?m)^JAVA_VERSION=\"(\\d+)").matcher(Files.readString(home.resolve("release")));
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("launcher_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
        }
        pipeline = new Pipeline(db, dir, List.of("public.t"), "");
        cds = dir.resolve("cds");
    }

    private Launch launch(String command) throws IOException, InterruptedException {
        return launch(command, "-c", pipeline.config().toString(), "--json");
    }

    private Launch launch(String command, String... options) throws IOException, InterruptedException {
        Path err = dir.resolve(command + ".err");
        List<String> args = new java.util.ArrayList<>(List.of("bash", PgPair.repositoryRoot().resolve("scripts/backfill").toString(), command));
        args.addAll(List.of(options));
        ProcessBuilder pb = new ProcessBuilder(args).directory(dir.toFile()).redirectError(err.toFile());
        pb.environment().put("BACKFILL_CDS_DIR", cds.toString());
        pb.environment().remove("BACKFILL_CDS");
        pb.environment().remove("BACKFILL_JAVA_OPTS");
        if (launcherJava != null) {
            pb.environment().put("BACKFILL_JAVA", launcherJava.toString());
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("launcher finished").isTrue();
        return new Launch(p.exitValue(), out, Files.readString(err));
    }

    /** The one directory (named after the java binary) that BACKFILL_CDS_DIR holds. */
    private Path archiveDir() throws IOException {
        try (Stream<Path> dirs = Files.list(cds)) {
            List<Path> all = dirs.toList();
            assertThat(all).hasSize(1);
            return all.get(0);
        }
    }

    private List<String> archiveFiles() throws IOException {
        try (Stream<Path> files = Files.list(archiveDir())) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private void assertStatusJson(Launch launch) throws IOException {
        assertThat(launch.exitCode()).as(launch.err()).isZero();
        // The whole of stdout is the status document: no JVM warning about archives on it.
        assertThat(new ObjectMapper().readTree(launch.out()).path("pipeline").asText()).isEqualTo(db.name());
        // Conscrypt loads its native library (the pair answers sslmode prefer with TLS): from Java 24
        // on a JVM not told that native access is allowed warns about it on stderr.
        assertThat(launch.err()).doesNotContain("restricted method");
    }

    @ParameterizedTest
    @MethodSource("javas")
    void theFirstRunRecordsItsClassesAndTheNextLaunchMapsThem(Path javaBinary) throws Exception {
        launcherJava = javaBinary;
        Launch first = launch("status");
        assertStatusJson(first);
        assertThat(archiveFiles()).singleElement().asString().matches("status\\.jsa\\.\\d+\\.dump");

        Launch second = launch("status");
        assertStatusJson(second);
        assertThat(archiveFiles()).containsExactly("status.jsa");
        Path archive = archiveDir().resolve("status.jsa");
        List<String> mapIt = major(javaBinary.toRealPath().getParent().getParent()) >= 25
                // The launcher's JVMs may use native code (Conscrypt); the cache holds them to that.
                ? List.of("--enable-native-access=ALL-UNNAMED", "-XX:AOTMode=on", "-XX:AOTCache=" + archive)
                : List.of("-Xshare:on", "-XX:SharedArchiveFile=" + archive);
        Process trial = new ProcessBuilder(Stream.of(List.of(javaBinary.toString()), mapIt, List.of("-XX:+UseParallelGC", "-Xmx768m", "-Xmn512m", "-jar",
                PgPair.repositoryRoot().resolve("backfill-app/target/scry-backfill.jar").toString(), "--version"))
                .flatMap(List::stream).toList()).redirectErrorStream(true).start();
        String trialOut = new String(trial.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(trial.waitFor()).as("a JVM that must map the archive starts: " + trialOut).isZero();
    }

    /** The compiler options the launcher chose for {@code status} of the pipeline's configuration. */
    private String compilerOptions() throws IOException, InterruptedException {
        Path err = dir.resolve("flags.err");
        ProcessBuilder pb = new ProcessBuilder("bash", PgPair.repositoryRoot().resolve("scripts/backfill").toString(), "status", "-c",
                pipeline.config().toString()).directory(dir.toFile()).redirectError(err.toFile());
        pb.environment().put("BACKFILL_CDS", "off");
        // The launcher's own heap and collector, plus a flag that prints the options the JVM got.
        pb.environment().put("BACKFILL_JAVA_OPTS", "-XX:+UseParallelGC -Xmx768m -Xmn512m -XX:+PrintCommandLineFlags");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("launcher finished").isTrue();
        assertThat(p.exitValue()).as(Files.readString(err)).isZero();
        return out.lines().findFirst().orElse("");
    }

    @Test
    void aPipelineWithoutTransformsOrTheEngineRunsC1AloneAndTheEngineKeepsC2() throws Exception {
        assertThat(compilerOptions()).contains("-XX:TieredStopAtLevel=1").doesNotContain("Tier4");

        pipeline.streamingWith(Pipeline.Reader.DEBEZIUM);
        assertThat(compilerOptions()).doesNotContain("TieredStopAtLevel").contains("-XX:Tier4InvocationThreshold=50000");
    }

    @Test
    void withoutBackfillJavaTheLauncherRunsTheNewestJavaItFinds() throws Exception {
        Optional<Path> newest = newestJava();
        int expected = Math.max(major(Path.of(System.getProperty("java.home"))), newest.map(LauncherIT::major).orElse(0));
        Path err = dir.resolve("settings.err");
        ProcessBuilder pb = new ProcessBuilder("bash", PgPair.repositoryRoot().resolve("scripts/backfill").toString(), "--version")
                .directory(dir.toFile()).redirectError(err.toFile());
        pb.environment().remove("BACKFILL_JAVA");
        pb.environment().put("BACKFILL_JAVA_OPTS", "-XshowSettings:properties");
        Process p = pb.start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(err)).contains("java.specification.version = " + expected);
    }

    @Test
    void helpThroughTheLauncherNeedsNoConfigAndRecordsNoArchive() throws Exception {
        Launch help = launch("snapshot", "--help");

        assertThat(help.exitCode()).as(help.err()).isZero();
        assertThat(help.out()).contains("Usage: backfill snapshot");
        assertThat(help.err()).doesNotContain("Missing required option");
        // Help loads a few classes: recorded, they would stand for the command's until the next build.
        assertThat(launch("status", "-c", pipeline.config().toString(), "-h").exitCode()).isZero();
        assertThat(archiveFiles()).as("help records no class archive").isEmpty();
    }

    @ParameterizedTest
    @MethodSource("javas")
    void aTruncatedRecordIsDiscardedInsteadOfMapped(Path javaBinary) throws Exception {
        launcherJava = javaBinary;
        assertStatusJson(launch("status"));
        assertStatusJson(launch("status"));
        Path archive = archiveDir().resolve("status.jsa");
        byte[] whole = Files.readAllBytes(archive);
        Files.delete(archive);
        // What a JVM killed while writing its record leaves behind, under a pid no process has.
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path truncated = archiveDir().resolve("status.jsa." + gone.pid() + ".dump");
        Files.write(truncated, Arrays.copyOf(whole, 64 * 1024));

        Launch afterwards = launch("status");

        // Mapped, the truncated archive crashes the JVM with SIGBUS (exit 134). The trial start that
        // finds this out crashes instead, and leaves no crash report where the command was run.
        assertStatusJson(afterwards);
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(f -> f.getFileName().toString())).noneMatch(name -> name.startsWith("hs_err"));
        }
        assertThat(archiveFiles()).doesNotContain("status.jsa", truncated.getFileName().toString())
                .singleElement().asString().matches("status\\.jsa\\.\\d+\\.dump");
    }
}
