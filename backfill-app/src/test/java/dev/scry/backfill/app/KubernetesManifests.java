package dev.scry.backfill.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The Kubernetes manifests under {@code deploy/kubernetes} as a cluster would receive them:
 * rendered by {@code kubectl kustomize} where kubectl is installed. Where it is not (a CI image
 * without it), the files are read as written: the base's objects once per pipeline directory with
 * that pipeline's config.yaml, which is enough for every check but those that need kustomize's
 * names and labels ({@link #rendered()} says which). {@code KUBECTL} names another kubectl binary
 * ({@code KUBECTL=none} reads the files as without one).
 */
final class KubernetesManifests {

    /** One pipeline as deployed: its Deployment, the configuration file its pods read, and its snapshot workers' Job (or null). */
    record Pipeline(String name, Map<String, Object> deployment, String configText, Map<String, Object> job) {

        Pipeline(String name, Map<String, Object> deployment, String configText) {
            this(name, deployment, configText, null);
        }

        Map<String, Object> jobPodSpec() {
            return map(map(map(job, "spec"), "template"), "spec");
        }

        Map<String, Object> jobPodLabels() {
            Map<String, Object> metadata = map(map(map(job, "spec"), "template"), "metadata");
            return metadata.containsKey("labels") ? map(metadata, "labels") : Map.of();
        }

        Map<String, Object> jobContainer() {
            return list(jobPodSpec(), "containers").stream().map(KubernetesManifests::asMap)
                    .filter(c -> "backfill".equals(c.get("name"))).findFirst()
                    .orElseThrow(() -> new AssertionError(name + ": the worker Job has no container named backfill"));
        }

        Map<String, Object> podSpec() {
            return map(map(map(deployment, "spec"), "template"), "spec");
        }

        Map<String, Object> podLabels() {
            return map(map(map(deployment, "spec"), "template"), "metadata").containsKey("labels")
                    ? map(map(map(map(deployment, "spec"), "template"), "metadata"), "labels") : Map.of();
        }

        Map<String, Object> container() {
            return list(podSpec(), "containers").stream().map(KubernetesManifests::asMap)
                    .filter(c -> "backfill".equals(c.get("name"))).findFirst()
                    .orElseThrow(() -> new AssertionError(name + ": no container named backfill"));
        }

        int replicas() {
            Object r = map(deployment, "spec").get("replicas");
            return r == null ? 1 : ((Number) r).intValue();
        }
    }

    private static final String INSTANCE = "app.kubernetes.io/instance";

    private final List<Map<String, Object>> documents;
    private final List<Pipeline> pipelines;
    private final boolean rendered;

    private KubernetesManifests(List<Map<String, Object>> documents, List<Pipeline> pipelines, boolean rendered) {
        this.documents = documents;
        this.pipelines = pipelines;
        this.rendered = rendered;
    }

    /** {@code deploy/kubernetes/overlays/example}. */
    static Path example() {
        return DeployFiles.root().resolve("kubernetes/overlays/example");
    }

    /**
     * An overlay whose pipelines are directories under {@code pipelines/} holding a config.yaml
     * each, on the base in {@code deploy/kubernetes/base} (the example's layout).
     */
    static KubernetesManifests of(Path overlay) {
        Path kubernetes = DeployFiles.root().resolve("kubernetes");
        String yaml = kustomize(overlay);
        if (yaml != null) {
            List<Map<String, Object>> docs = parseAll(yaml);
            List<Pipeline> pipelines = new ArrayList<>();
            for (Map<String, Object> d : docs) {
                if ("Deployment".equals(d.get("kind"))) {
                    Object instance = map(d, "metadata").containsKey("labels") ? map(map(d, "metadata"), "labels").get(INSTANCE) : null;
                    Map<String, Object> job = docs.stream().filter(j -> "Job".equals(j.get("kind")) && map(j, "metadata").containsKey("labels")
                            && Objects.equals(map(map(j, "metadata"), "labels").get(INSTANCE), instance)).findFirst().orElse(null);
                    pipelines.add(new Pipeline(name(d), d, configOf(d, docs), job));
                }
            }
            return new KubernetesManifests(docs, pipelines, true);
        }
        List<Map<String, Object>> docs = new ArrayList<>();
        docs.addAll(readDirectory(kubernetes.resolve("base")));
        docs.addAll(readDirectory(kubernetes.resolve("monitoring")));
        Map<String, Object> deployment = docs.stream().filter(d -> "Deployment".equals(d.get("kind"))).findFirst().orElseThrow();
        Map<String, Object> job = docs.stream().filter(d -> "Job".equals(d.get("kind"))).findFirst().orElse(null);
        List<Pipeline> pipelines = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(overlay.resolve("pipelines"))) {
            for (Path dir : dirs.sorted().toList()) {
                pipelines.add(new Pipeline(dir.getFileName().toString(), deployment, Files.readString(dir.resolve("config.yaml")), job));
            }
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new KubernetesManifests(docs, pipelines, false);
    }

    /** Whether kustomize rendered the manifests (names, labels and generated ConfigMaps as a cluster gets them). */
    boolean rendered() {
        return rendered;
    }

    List<Pipeline> pipelines() {
        return pipelines;
    }

    List<Map<String, Object>> ofKind(String kind) {
        return documents.stream().filter(d -> kind.equals(d.get("kind"))).toList();
    }

    List<Map<String, Object>> documents() {
        return documents;
    }

    /** Whether a {@code matchLabels} selector selects an object with these labels (an empty selector selects nothing here). */
    static boolean selects(Map<String, Object> matchLabels, Map<String, Object> labels) {
        return !matchLabels.isEmpty() && matchLabels.entrySet().stream().allMatch(e -> Objects.equals(labels.get(e.getKey()), e.getValue()));
    }

    static String name(Map<String, Object> object) {
        return String.valueOf(map(object, "metadata").get("name"));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Object node) {
        return (Map<String, Object>) node;
    }

    static Map<String, Object> map(Map<String, Object> node, String key) {
        Object value = node.get(key);
        if (!(value instanceof Map)) {
            throw new AssertionError("expected a mapping at " + key + " in " + node);
        }
        return asMap(value);
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> node, String key) {
        Object value = node.get(key);
        return value instanceof List ? (List<Object>) value : List.of();
    }

    static Map<String, Object> parse(String yaml) {
        return asMap(yaml().load(yaml));
    }

    private static Yaml yaml() {
        return new Yaml(new SafeConstructor(new LoaderOptions()));
    }

    private static List<Map<String, Object>> parseAll(String yaml) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : yaml().loadAll(yaml)) {
            if (doc != null) {
                docs.add(asMap(doc));
            }
        }
        return docs;
    }

    private static List<Map<String, Object>> readDirectory(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            List<Map<String, Object>> docs = new ArrayList<>();
            for (Path f : files.sorted().filter(f -> f.toString().endsWith(".yaml") && !f.endsWith("kustomization.yaml")).toList()) {
                docs.addAll(parseAll(Files.readString(f)));
            }
            return docs;
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The configuration file the pods read: the ConfigMap behind the directory that `-c` names. */
    private static String configOf(Map<String, Object> deployment, List<Map<String, Object>> docs) {
        Pipeline p = new Pipeline(name(deployment), deployment, null);
        List<Object> args = list(p.container(), "args");
        int c = args.indexOf("-c");
        if (c < 0 || c + 1 >= args.size()) {
            throw new AssertionError(p.name() + ": the container's args name no configuration file (-c)");
        }
        Path file = Path.of(String.valueOf(args.get(c + 1)));
        for (Object m : list(p.container(), "volumeMounts")) {
            Map<String, Object> mount = asMap(m);
            if (file.getParent().equals(Path.of(String.valueOf(mount.get("mountPath"))))) {
                for (Object v : list(p.podSpec(), "volumes")) {
                    Map<String, Object> volume = asMap(v);
                    if (volume.get("name").equals(mount.get("name")) && volume.get("configMap") instanceof Map<?, ?> cm) {
                        Object data = docs.stream().filter(d -> "ConfigMap".equals(d.get("kind")) && name(d).equals(cm.get("name")))
                                .map(d -> map(d, "data").get(file.getFileName().toString())).filter(Objects::nonNull).findFirst()
                                .orElseThrow(() -> new AssertionError(p.name() + ": no ConfigMap " + cm.get("name") + " with the key "
                                        + file.getFileName()));
                        return (String) data;
                    }
                }
            }
        }
        throw new AssertionError(p.name() + ": " + file + " is on no ConfigMap volume");
    }

    /** The rendered YAML, or null when kubectl is not installed. */
    private static String kustomize(Path dir) {
        Process p;
        try {
            p = new ProcessBuilder(System.getenv().getOrDefault("KUBECTL", "kubectl"), "kustomize", dir.toString()).start();
        }
        catch (IOException notInstalled) {
            System.out.println("[manifests] kubectl not found: reading the manifests without kustomize");
            return null;
        }
        try {
            byte[] out = p.getInputStream().readAllBytes();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("kubectl kustomize " + dir + " failed: " + err);
            }
            return new String(out, StandardCharsets.UTF_8);
        }
        catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
