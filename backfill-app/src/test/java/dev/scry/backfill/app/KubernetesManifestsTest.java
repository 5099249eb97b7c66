package dev.scry.backfill.app;

import static dev.scry.backfill.app.KubernetesManifests.asMap;
import static dev.scry.backfill.app.KubernetesManifests.list;
import static dev.scry.backfill.app.KubernetesManifests.map;
import static dev.scry.backfill.app.KubernetesManifests.name;
import static dev.scry.backfill.app.KubernetesManifests.selects;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.app.KubernetesManifests.Pipeline;
import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.config.ConfigLoader;
import dev.scry.backfill.app.ops.Operations;
import dev.scry.backfill.testing.PgPair;

/**
 * The example overlay ({@code deploy/kubernetes/overlays/example}, three pipelines) held to what
 * the code does: each pipeline's configuration loads as the daemon loads it, its probes and
 * scraping point at paths a running operations endpoint serves on the port the configuration
 * opens, the replica count agrees with {@code standby}, secrets arrive as mounted files only, and
 * the disruption budget, anti-affinity and selectors keep each pipeline's pods to themselves, and
 * the snapshot workers' Job runs a command the image has with the pipeline's own configuration and
 * Secret, its pods taken by none of the daemon's selectors.
 * {@code -Dmanifests.overlay=<dir>} checks another overlay of the same layout (yours).
 */
class KubernetesManifestsTest {

    // The largest peak resident set measured for one pipeline (README "Memory and the JVM": 520-620 MB
    // while catching up; 443-518 MB in the bench), in MiB.
    private static final long MEASURED_PEAK_MIB = 620;
    private static final Path ENTRYPOINT = PgPair.repositoryRoot().resolve("deploy/image/usr/local/bin/backfill");
    private static final Set<String> FILE_KEYS = Set.of("password-file", "key-file", "sslrootcert");

    private static KubernetesManifests manifests;

    @TempDir
    Path secrets;

    @BeforeAll
    static void render() {
        String overlay = System.getProperty("manifests.overlay");
        manifests = KubernetesManifests.of(overlay == null ? KubernetesManifests.example() : Path.of(overlay).toAbsolutePath());
    }

    @Test
    void theOverlayDeploysDistinctPipelinesAndNoSecretObject() {
        if (System.getProperty("manifests.overlay") == null) {
            assertThat(manifests.pipelines()).as("the example's pipelines").hasSize(3);
        }
        assertThat(manifests.pipelines()).isNotEmpty();
        Set<String> ids = new HashSet<>();
        for (Pipeline p : manifests.pipelines()) {
            assertThat(ids.add(String.valueOf(KubernetesManifests.parse(p.configText()).get("pipeline"))))
                    .as(p.name() + ": two Deployments of one pipeline would fight over its lock and slot").isTrue();
        }
        assertThat(manifests.ofKind("Secret")).as("Secrets are created outside the manifests, never written into them").isEmpty();
        if (manifests.rendered()) {
            assertThat(manifests.ofKind("PodDisruptionBudget")).hasSize(manifests.pipelines().size());
        }
    }

    @Test
    void standbyIsOnExactlyWhenThereIsASecondReplica() throws Exception {
        for (Pipeline p : manifests.pipelines()) {
            assertThat(load(p).standby()).as(p.name() + ": replicas " + p.replicas()
                    + " with standby false makes the second pod exit 2 in a loop; standby true is what lets it wait").isEqualTo(p.replicas() > 1);
        }
    }

    @Test
    void probesAndScrapingPointAtPathsTheEndpointServesOnThePortTheConfigOpens() throws Exception {
        for (Pipeline p : manifests.pipelines()) {
            BackfillConfig config = load(p);
            assertThat(InetAddress.getByName(config.metricsHost()).isLoopbackAddress())
                    .as(p.name() + ": metrics.host " + config.metricsHost() + " is unreachable for probes and Prometheus; use 0.0.0.0").isFalse();
            Map<String, Object> container = p.container();
            int port = config.metricsPort();
            Map<String, Object> pod = map(map(p.deployment(), "spec"), "template");
            Map<String, Object> annotations = map(map(pod, "metadata"), "annotations");
            assertThat(annotations.get("prometheus.io/scrape")).isEqualTo("true");
            assertThat(annotations.get("prometheus.io/port")).as(p.name() + " scrape annotation").isEqualTo(Integer.toString(port));

            // A real endpoint, as the daemon starts it before it knows whether it is active.
            try (Operations ops = Operations.start("127.0.0.1", OpsEndpoint.freePort(), config.pipeline(), config.source(), config.shadow(),
                    config.slot())) {
                OpsEndpoint endpoint = new OpsEndpoint(ops.port());
                assertThat(endpoint.status(String.valueOf(annotations.get("prometheus.io/path")))).as(p.name() + " scrape path").isEqualTo(200);
                for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                    Map<String, Object> get = map(map(container, probe), "httpGet");
                    assertThat(containerPort(container, get.get("port"))).as(p.name() + " " + probe + " port").isEqualTo(port);
                    int status = endpoint.status(String.valueOf(get.get("path")));
                    if (probe.equals("readinessProbe")) {
                        assertThat(status).as(p.name() + " " + probe + " " + get.get("path") + " is served").isIn(200, 503);
                    }
                    else {
                        // Liveness must hold while the instance is not ready (waiting for a database, or starting).
                        assertThat(status).as(p.name() + " " + probe + " " + get.get("path") + " answers 200 on an instance that is not ready")
                                .isEqualTo(200);
                    }
                }
                if (manifests.rendered()) {
                    assertScrapedThroughServiceMonitor(p, endpoint);
                }
            }
        }
    }

    @Test
    void secretsAreFilesOfAMountedSecretAndNeverValuesInTheManifests() throws Exception {
        for (Pipeline p : manifests.pipelines()) {
            Map<String, Object> config = KubernetesManifests.parse(p.configText());
            for (String endpoint : List.of("source", "shadow")) {
                assertThat(map(config, endpoint)).as(p.name() + ": " + endpoint + ".password in the ConfigMap").doesNotContainKey("password")
                        .containsKey("password-file");
            }
            for (Object t : list(config, "transforms")) {
                assertThat(asMap(t)).as(p.name() + ": a transform's key in the ConfigMap").doesNotContainKey("key");
            }
            List<String> mounted = secretMountPaths(p);
            assertThat(mounted).as(p.name() + " mounts a Secret").isNotEmpty();
            for (String file : files(config)) {
                assertThat(mounted.stream().anyMatch(m -> file.startsWith(m + "/"))).as(p.name() + ": " + file + " lies on a mounted Secret " + mounted)
                        .isTrue();
            }
            for (Object e : list(p.container(), "env")) {
                Map<String, Object> env = asMap(e);
                assertThat(!env.containsKey("value") || !String.valueOf(env.get("name")).matches("(?i).*(pass|secret|key|token).*"))
                        .as(p.name() + ": env " + env.get("name") + " carries a secret as a value").isTrue();
            }
            load(p); // and the daemon reads every one of those files
        }
    }

    @Test
    void terminationGracePeriodOutlastsTheLongestRetryPauseOfTheBatchInFlight() throws Exception {
        for (Pipeline p : manifests.pipelines()) {
            // SIGTERM lets the batch in flight commit; a write that failed just before sleeps up
            // to retry.max-backoff-ms before its next attempt, which must still fit, with time to apply.
            long needed = load(p).retry().maxBackoff().toSeconds() + 15;
            Object grace = p.podSpec().get("terminationGracePeriodSeconds");
            assertThat(grace).as(p.name() + " terminationGracePeriodSeconds").isNotNull();
            assertThat(((Number) grace).longValue()).as(p.name() + " terminationGracePeriodSeconds").isGreaterThanOrEqualTo(needed);
        }
    }

    @Test
    void memoryCoversTheHeapAndTheMeasuredPeakAndCpuIsRequested() throws Exception {
        long heapMib = heapMib(Files.readString(ENTRYPOINT));
        for (Pipeline p : manifests.pipelines()) {
            Map<String, Object> resources = map(p.container(), "resources");
            long limit = mebibytes(map(resources, "limits").get("memory"));
            long request = mebibytes(map(resources, "requests").get("memory"));
            assertThat(limit).as(p.name() + ": memory limit against the heap " + heapMib + " MiB plus the JVM's own").isGreaterThanOrEqualTo(heapMib + 256);
            assertThat(request).as(p.name() + ": memory request against the measured peak").isGreaterThanOrEqualTo(MEASURED_PEAK_MIB);
            assertThat(map(resources, "requests")).as(p.name()).containsKey("cpu");
        }
    }

    @Test
    void disruptionBudgetAntiAffinityAndSelectorsEachTakeOnlyTheirPipelinesPods() {
        assumeTrue(manifests.rendered(), "selectors are filled in by kustomize, which needs kubectl");
        List<Pipeline> all = manifests.pipelines();
        for (Pipeline p : all) {
            List<Pipeline> others = all.stream().filter(o -> o != p).toList();
            Map<String, Object> selector = map(map(map(p.deployment(), "spec"), "selector"), "matchLabels");
            assertThat(selects(selector, p.podLabels())).as(p.name() + " selects its pods").isTrue();
            others.forEach(o -> assertThat(selects(selector, o.podLabels())).as(p.name() + " selects pods of " + o.name()).isFalse());

            List<Map<String, Object>> budgets = manifests.ofKind("PodDisruptionBudget").stream()
                    .filter(b -> selects(map(map(b, "spec"), "selector").containsKey("matchLabels")
                            ? map(map(map(b, "spec"), "selector"), "matchLabels") : Map.of(), p.podLabels())).toList();
            assertThat(budgets).as(p.name() + ": one PodDisruptionBudget selects its pods").hasSize(1);
            Map<String, Object> budget = map(budgets.get(0), "spec");
            others.forEach(o -> assertThat(selects(map(map(budget, "selector"), "matchLabels"), o.podLabels()))
                    .as(name(budgets.get(0)) + " selects pods of " + o.name()).isFalse());
            assertThat(budget.get("maxUnavailable")).as(p.name() + ": a drain takes one pod at a time, the other stays").isEqualTo(1);

            List<Object> required = list(map(map(p.podSpec(), "affinity"), "podAntiAffinity"), "requiredDuringSchedulingIgnoredDuringExecution");
            List<Map<String, Object>> apart = required.stream().map(KubernetesManifests::asMap)
                    .filter(t -> "kubernetes.io/hostname".equals(t.get("topologyKey"))).toList();
            assertThat(apart).as(p.name() + ": its pods are kept on different nodes").hasSize(1);
            Map<String, Object> affinitySelector = map(map(apart.get(0), "labelSelector"), "matchLabels");
            assertThat(selects(affinitySelector, p.podLabels())).as(p.name() + ": anti-affinity against its own pods").isTrue();
            others.forEach(o -> assertThat(selects(affinitySelector, o.podLabels()))
                    .as(p.name() + ": anti-affinity against pods of " + o.name() + " (pipelines would need a node each)").isFalse());
        }
    }

    @Test
    void snapshotWorkersRunACommandTheImageHasWithThePipelinesOwnConfigurationAndSecret() throws Exception {
        for (Pipeline p : manifests.pipelines()) {
            assertThat(p.job()).as(p.name() + ": a Job of snapshot workers").isNotNull();
            List<String> args = list(p.jobContainer(), "args").stream().map(String::valueOf).toList();
            // Parsed by the CLI itself: the command and every option exist (no manifest may run what the image lacks).
            picocli.CommandLine.ParseResult parsed = Main.commandLine().parseArgs(args.toArray(String[]::new));
            assertThat(parsed.subcommand().commandSpec().name()).as(p.name() + " worker command").isEqualTo("snapshot-worker");
            assertThat(args).as(p.name() + ": the workers read the daemon's configuration file")
                    .containsSubsequence("-c", String.valueOf(list(p.container(), "args").get(list(p.container(), "args").indexOf("-c") + 1)));
            assertThat(volumesByMount(p.jobPodSpec(), p.jobContainer())).as(p.name() + ": the workers mount the daemon's ConfigMap and Secret at the same paths")
                    .isEqualTo(volumesByMount(p.podSpec(), p.container()));
            Map<String, Object> spec = map(p.job(), "spec");
            assertThat(spec).as(p.name() + ": a work queue (no completions): done when one worker exits 0 and the rest have ended")
                    .doesNotContainKey("completions");
            assertThat(p.jobPodSpec().get("restartPolicy")).isIn("OnFailure", "Never");
            Map<String, Object> resources = map(p.jobContainer(), "resources");
            assertThat(mebibytes(map(resources, "limits").get("memory"))).as(p.name() + ": worker memory against the heap")
                    .isGreaterThanOrEqualTo(heapMib(Files.readString(ENTRYPOINT)) + 256);
            if (!Boolean.TRUE.equals(spec.get("suspend"))) {
                assertThat(load(p).snapshot().method()).as(p.name() + ": started workers need the copy snapshot (they refuse debezium's)")
                        .isEqualTo(dev.scry.backfill.snapshot.SnapshotSettings.Method.COPY);
            }
        }
    }

    @Test
    void noSelectorOfTheDaemonTakesTheSnapshotWorkersPods() {
        assumeTrue(manifests.rendered(), "selectors are filled in by kustomize, which needs kubectl");
        for (Pipeline p : manifests.pipelines()) {
            Map<String, Object> workers = p.jobPodLabels();
            assertThat(selects(map(map(map(p.deployment(), "spec"), "selector"), "matchLabels"), workers))
                    .as(p.name() + ": the Deployment would count worker pods as its replicas").isFalse();
            for (Map<String, Object> budget : manifests.ofKind("PodDisruptionBudget")) {
                assertThat(selects(map(map(map(budget, "spec"), "selector"), "matchLabels"), workers))
                        .as(name(budget) + " would count " + p.name() + "'s worker pods").isFalse();
            }
            for (Map<String, Object> service : manifests.ofKind("Service")) {
                assertThat(selects(asMap(map(service, "spec").getOrDefault("selector", Map.of())), workers))
                        .as(name(service) + " would route to " + p.name() + "'s worker pods, which serve no metrics").isFalse();
            }
            for (Object t : list(map(map(p.podSpec(), "affinity"), "podAntiAffinity"), "requiredDuringSchedulingIgnoredDuringExecution")) {
                assertThat(selects(map(map(asMap(t), "labelSelector"), "matchLabels"), workers))
                        .as(p.name() + ": a worker pod on a node would keep the daemon's pods off it").isFalse();
            }
        }
    }

    /** Mount path to the volume's source (ConfigMap or Secret name) of a container. */
    private static Map<String, String> volumesByMount(Map<String, Object> podSpec, Map<String, Object> container) {
        Map<String, Object> sources = new java.util.HashMap<>();
        for (Object v : list(podSpec, "volumes")) {
            Map<String, Object> volume = asMap(v);
            Object source = volume.containsKey("secret") ? "secret " + map(volume, "secret").get("secretName")
                    : volume.containsKey("configMap") ? "configMap " + map(volume, "configMap").get("name") : null;
            if (source != null) {
                sources.put(String.valueOf(volume.get("name")), source);
            }
        }
        Map<String, String> out = new java.util.TreeMap<>();
        for (Object m : list(container, "volumeMounts")) {
            Map<String, Object> mount = asMap(m);
            Object source = sources.get(String.valueOf(mount.get("name")));
            if (source != null) {
                out.put(String.valueOf(mount.get("mountPath")), String.valueOf(source));
            }
        }
        return out;
    }

    private void assertScrapedThroughServiceMonitor(Pipeline p, OpsEndpoint endpoint) {
        List<Map<String, Object>> services = manifests.ofKind("Service").stream()
                .filter(s -> selects(asMap(map(s, "spec").getOrDefault("selector", Map.of())), p.podLabels())).toList();
        assertThat(services).as(p.name() + ": one Service selects its pods for scraping").hasSize(1);
        Map<String, Object> service = services.get(0);
        assertThat(map(service, "spec").get("publishNotReadyAddresses")).as(p.name() + ": a pod that is not ready is still scraped").isEqualTo(true);
        Map<String, Object> servicePort = asMap(list(map(service, "spec"), "ports").get(0));
        assertThat(containerPort(p.container(), servicePort.get("targetPort"))).isEqualTo(containerPort(p.container(), "metrics"));
        Map<String, Object> labels = map(map(service, "metadata"), "labels");
        List<Map<String, Object>> monitors = manifests.ofKind("ServiceMonitor").stream()
                .filter(m -> selects(map(map(map(m, "spec"), "selector"), "matchLabels"), labels)).toList();
        assertThat(monitors).as(p.name() + ": a ServiceMonitor selects its Service").hasSize(1);
        for (Object e : list(map(monitors.get(0), "spec"), "endpoints")) {
            Map<String, Object> scrape = asMap(e);
            assertThat(scrape.get("port")).isEqualTo(servicePort.get("name"));
            assertThat(endpoint.status(String.valueOf(scrape.get("path")))).as("ServiceMonitor path " + scrape.get("path")).isEqualTo(200);
        }
    }

    /**
     * The pipeline's configuration loaded by the daemon's own loader, with the mounted Secret's
     * files that it names created in a temporary directory (the loader reads them).
     */
    private BackfillConfig load(Pipeline p) throws Exception {
        String text = p.configText();
        for (String mount : secretMountPaths(p)) {
            Path dir = secrets.resolve(p.name() + mount.replace('/', '_'));
            Files.createDirectories(dir);
            Matcher m = Pattern.compile(Pattern.quote(mount) + "/([A-Za-z0-9._-]+)").matcher(text);
            while (m.find()) {
                Files.writeString(dir.resolve(m.group(1)), "a value the Secret holds\n");
            }
            text = text.replace(mount + "/", dir + "/");
        }
        Path file = secrets.resolve(p.name() + ".yaml");
        Files.writeString(file, text);
        return new ConfigLoader().load(file);
    }

    private static List<String> secretMountPaths(Pipeline p) {
        Set<String> secretVolumes = new HashSet<>();
        for (Object v : list(p.podSpec(), "volumes")) {
            Map<String, Object> volume = asMap(v);
            if (volume.containsKey("secret")) {
                secretVolumes.add(String.valueOf(volume.get("name")));
            }
        }
        List<String> paths = new ArrayList<>();
        for (Object m : list(p.container(), "volumeMounts")) {
            Map<String, Object> mount = asMap(m);
            if (secretVolumes.contains(String.valueOf(mount.get("name")))) {
                paths.add(String.valueOf(mount.get("mountPath")));
            }
        }
        return paths;
    }

    /** Every file a configuration names (passwords, keys, CA certificates), wherever it sits. */
    private static List<String> files(Object node) {
        List<String> found = new ArrayList<>();
        if (node instanceof Map<?, ?> m) {
            m.forEach((k, v) -> {
                if (FILE_KEYS.contains(String.valueOf(k))) {
                    found.add(String.valueOf(v));
                }
                found.addAll(files(v));
            });
        }
        else if (node instanceof List<?> l) {
            l.forEach(v -> found.addAll(files(v)));
        }
        return found;
    }

    private static int containerPort(Map<String, Object> container, Object port) {
        if (port instanceof Number n) {
            return n.intValue();
        }
        for (Object p : list(container, "ports")) {
            if (String.valueOf(port).equals(asMap(p).get("name"))) {
                return ((Number) asMap(p).get("containerPort")).intValue();
            }
        }
        throw new AssertionError("the container has no port named " + port);
    }

    private static long heapMib(String entrypoint) {
        Matcher m = Pattern.compile("-Xmx(\\d+)([mg])").matcher(entrypoint);
        assertThat(m.find()).as("the image's entrypoint sets -Xmx").isTrue();
        return Long.parseLong(m.group(1)) * (m.group(2).equals("g") ? 1024 : 1);
    }

    private static long mebibytes(Object quantity) {
        Matcher m = Pattern.compile("(\\d+)(Mi|Gi)").matcher(String.valueOf(quantity));
        assertThat(m.matches()).as("memory quantity " + quantity + " in Mi or Gi").isTrue();
        return Long.parseLong(m.group(1)) * (m.group(2).equals("Gi") ? 1024 : 1);
    }
}
