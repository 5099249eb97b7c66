package dev.scry.backfill.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.scry.backfill.testing.PgPair;

/** The files under {@code deploy/} that operators load: what they name, so that tests can hold them to the code. */
final class DeployFiles {

    private static final Pattern METRIC = Pattern.compile("backfill_[a-z_]+");

    private DeployFiles() {
    }

    static Path root() {
        return PgPair.repositoryRoot().resolve("deploy");
    }

    /** Every {@code backfill_*} metric named per file: the alert rules, the dashboard and the Kubernetes manifests. */
    static Map<Path, Set<String>> metricNames() {
        Map<Path, Set<String>> named = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root())) {
            for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)
                    .filter(f -> f.toString().matches(".*\\.(ya?ml|json)"))::iterator) {
                Set<String> names = new TreeSet<>();
                Matcher m = METRIC.matcher(Files.readString(file));
                while (m.find()) {
                    names.add(m.group());
                }
                if (!names.isEmpty()) {
                    named.put(root().relativize(file), names);
                }
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return named;
    }
}
