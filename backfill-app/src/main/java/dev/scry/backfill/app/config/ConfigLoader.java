package dev.scry.backfill.app.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.transform.TransformConfig;
import dev.scry.backfill.transform.TransformType;

/**
 * Reads and validates the YAML configuration, once, before anything connects. The top level's
 * keys, the endpoints' and the tables are declared here; each other mapping's keys, defaults and
 * checks with its record ({@link ConfigRecords}), the transforms' with their types. Every problem
 * names the key path and how to fix it, and all of a file's come in one message.
 *
 * <pre>
 * pipeline: demo                # required; [a-z][a-z0-9_]*, at most 40 characters
 * source:   {host, port, database, user, password | password-file, sslmode, sslrootcert}
 *                               # host, database, user required; port 5432; password ""; sslmode prefer
 *                               # or hosts: [a:5432, b:5432] instead of host/port: whichever is the primary (failover)
 * shadow:   {host, port, database, user, password}
 * tables:   [public.customers, '"Sales"."Order Lines"', 'audit.*']   # required, schema-qualified, as SQL writes them; * in an unquoted part matches any run
 * slot:        backfill_&lt;pipeline&gt;   # [a-z0-9_], at most 63 characters
 * slot-failover: true        # a failover slot where the server has them (PostgreSQL 17 primary)
 * publication: backfill_&lt;pipeline&gt;
 * batch:       {max-rows: 2048, max-delay-ms: 200}
 * rate-limit:  {rows-per-second: 0, bytes-per-second: 0}   # 0 = unlimited
 * transforms:  [{type: hash, columns: [public.users.email], key: ${HASH_KEY}}, ...]   # see TransformType.BUILT_IN
 * snapshot:    {method: copy, parallelism: 2, chunk-mb: 256, chunk-rows: 10000, claim-timeout-ms: 30000}   # copy | debezium
 * stream:      {reader: pgoutput}   # pgoutput | debezium: which reader streams, whatever took the snapshot
 * retry:       {initial-backoff-ms: 200, max-backoff-ms: 30000, give-up-after-s: 600}
 * standby:     false        # true: a second cdc/resume waits and takes over when the active one stops
 * errors:      {tolerance: none}   # all: a change the shadow rejects becomes a dead letter
 * metrics:     {host: 127.0.0.1, port: 9464}   # /metrics, /health, /ready; port 0 = off
 * schema:      {copy-ownership: false, copy-privileges: false,   # owners and grants on the shadow
 *               capture-ddl: false, check-interval-ms: 60000}    # DDL in the stream (event trigger), drift check
 * sequences:   {sync-interval-ms: 10000}   # how often cdc copies sequence values; 0 = only at snapshot end and caught-up exits
 * </pre>
 */
public final class ConfigLoader {

    static final Set<String> TOP = Set.of("pipeline", "source", "shadow", "tables", "slot", "publication", "batch",
            "rate-limit", "transforms", "snapshot", "discover-tables-every-ms", "retry", "standby", "errors", "heartbeat-interval-ms", "metrics",
            "schema", "sequences", "slot-failover", "stream");
    static final Set<String> ENDPOINT = Set.of("host", "hosts", "port", "database", "user", "password", "password-file", "sslmode",
            "sslrootcert");

    private final java.util.function.Function<String, String> environment;
    private EnvSubstitution env;

    public ConfigLoader() {
        this(System.getenv()::get);
    }

    ConfigLoader(java.util.function.Function<String, String> environment) {
        this.environment = environment;
    }

    public BackfillConfig load(Path path) {
        String file = path.toString();
        env = new EnvSubstitution(environment);
        Object root;
        try {
            String text = env.protect(Files.readString(path, StandardCharsets.UTF_8));
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            root = new Yaml(new SafeConstructor(options)).load(text);
        }
        catch (NoSuchFileException e) {
            throw new ConfigException(file + ": no such file; pass the configuration with -c FILE");
        }
        catch (IOException e) {
            throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ")");
        }
        catch (MarkedYAMLException e) {
            String problem = e.getProblem() == null ? e.getMessage() : e.getProblem();
            int line = e.getProblemMark() == null ? -1 : e.getProblemMark().getLine() + 1;
            throw new ConfigException(file + (line > 0 ? ":" + line : "") + ": not valid YAML: " + problem.replace('\n', ' '));
        }
        catch (YAMLException e) {
            throw new ConfigException(file + ": not valid YAML: " + String.valueOf(e.getMessage()).replace('\n', ' '));
        }
        if (root == null) {
            throw new ConfigException(file + ": the file is empty; it needs at least pipeline, source, shadow and tables");
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new ConfigException(file + ": the top level must be a mapping of keys (pipeline, source, shadow, tables, ...)");
        }
        Problems problems = new Problems(file);
        BackfillConfig config = read(file, problems, new Section(problems, "", map, env, TOP));
        problems.report();
        return config;
    }

    /**
     * Reads every mapping into its record, gathering every problem of the file; the configuration,
     * or null when there was one (the caller reports them all).
     */
    private BackfillConfig read(String file, Problems problems, Section top) {
        ConfigRecords.TopLevel names = problems.record(() -> ConfigRecords.TopLevel.from(top));
        ConnectionSettings source = problems.record(() -> endpoint(top.section("source", ENDPOINT, true)));
        Section shadowSection = top.section("shadow", ENDPOINT, true);
        ConnectionSettings shadow = shadowSection.has("hosts") ? null : problems.record(() -> endpoint(shadowSection));
        if (shadowSection.has("hosts")) {
            problems.add(shadowSection.qualified("hosts") + " is for the source (the primary among its servers); name the shadow with"
                    + " shadow.host");
        }
        List<TableSelector> selectors = tables(top);
        List<TableId> tables = selectors.stream().filter(t -> !t.isPattern()).map(TableSelector::table).toList();
        ConfigRecords.Batch batch = problems.record(() -> ConfigRecords.Batch.from(top));
        ConfigRecords.RateLimits rateLimits = problems.record(() -> ConfigRecords.RateLimits.from(top));
        ConfigRecords.Snapshot snapshot = problems.record(() -> ConfigRecords.Snapshot.from(top));
        ConfigRecords.Stream stream = problems.record(() -> ConfigRecords.Stream.from(top));
        ConfigRecords.Retry retry = problems.record(() -> ConfigRecords.Retry.from(top));
        ConfigRecords.Errors errors = problems.record(() -> ConfigRecords.Errors.from(top));
        ConfigRecords.Metrics metrics = problems.record(() -> ConfigRecords.Metrics.from(top));
        ConfigRecords.Schema schema = problems.record(() -> ConfigRecords.Schema.from(top));
        ConfigRecords.Sequences sequences = problems.record(() -> ConfigRecords.Sequences.from(top));
        boolean standby = top.bool("standby", false);
        boolean slotFailover = top.bool("slot-failover", true);
        List<TransformConfig> transforms = transforms(top);
        if (problems.any()) {
            return null;
        }
        // Checks across mappings, once each mapping is right: BackfillConfig's own.
        return problems.record(() -> new BackfillConfig(file, names.pipeline(), source, shadow, selectors, tables, names.slot(),
                names.publication(), (int) batch.maxRows(), Duration.ofMillis(batch.maxDelayMs()), rateLimits.toRateLimit(),
                Duration.ofMillis(names.heartbeatIntervalMs()), snapshot.toSettings(), Duration.ofMillis(names.discoverTablesEveryMs()),
                retry.toPolicy(), standby, errors.tolerant(), transforms, metrics.host(), (int) metrics.port(), schema.toSettings(),
                Duration.ofMillis(sequences.syncIntervalMs()), slotFailover, stream.toReader()));
    }

    /**
     * Each entry's type and keys, as {@link TransformType} declares them, and its settings as far
     * as they can be checked without the tables; whether named columns exist is checked against
     * the source at start. A declared key {@code K-file} (hash's {@code key-file}) gives {@code K}
     * from the first line of a file.
     */
    private static List<TransformConfig> transforms(Section top) {
        List<Object> raw = top.list("transforms");
        List<TransformConfig> out = new ArrayList<>();
        Map<String, TransformType> types = TransformType.all();
        for (int i = 0; i < raw.size(); i++) {
            try {
                out.add(transform(top, "transforms[" + i + "]", raw.get(i), types));
            }
            catch (ConfigException e) {
                top.problem(e.getMessage());
            }
        }
        return out;
    }

    private static TransformConfig transform(Section top, String path, Object raw, Map<String, TransformType> types) {
        String typeNames = String.join(", ", types.keySet());
        if (!(raw instanceof Map<?, ?> map) || !(map.get("type") instanceof String name)) {
            throw top.error(path + " must be a mapping with a type (" + typeNames + ")");
        }
        TransformType type = types.get(name);
        if (type == null) {
            throw top.error(path + ".type '" + name + "' is not a transform; use one of " + typeNames);
        }
        Set<String> keys = new java.util.HashSet<>();
        map.keySet().forEach(k -> keys.add(String.valueOf(k)));
        Set<String> known = new java.util.HashSet<>(type.declaredKeys().orElse(keys));
        known.add("type");
        Section entry = top.entry(path, map, known);
        Map<String, Object> settings = new java.util.LinkedHashMap<>();
        for (String key : keys) {
            if (key.equals("type") || !known.contains(key)) {
                continue;
            }
            Object value = map.get(key);
            if (value instanceof List<?>) {
                settings.put(key, entry.strings(key));
            }
            else if (value == null) {
                settings.put(key, null);
            }
            else {
                settings.put(key, entry.string(key, null));
            }
        }
        for (String key : type.declaredKeys().orElse(Set.of())) {
            if (key.endsWith("-file") && settings.containsKey(key)) {
                String of = key.substring(0, key.length() - "-file".length());
                if (settings.containsKey(of)) {
                    throw entry.error(path + "." + of + " and " + path + "." + key + " are both set; keep one");
                }
                String file = String.valueOf(settings.remove(key));
                try {
                    settings.put(of, Files.readString(Path.of(file), StandardCharsets.UTF_8).lines().findFirst().orElse(""));
                }
                catch (IOException | RuntimeException e) {
                    throw entry.error(path + "." + key + ": cannot read " + file + "; point it at a readable file holding the " + of);
                }
            }
        }
        java.util.Optional<String> problem = type.check(settings);
        if (problem.isPresent()) {
            throw entry.error(path + "." + problem.get());
        }
        return new TransformConfig(name, settings, path);
    }

    /** A source or the shadow: every problem of the mapping at once, or the connection settings. */
    private static ConnectionSettings endpoint(Section s) {
        List<String> problems = new ArrayList<>();
        List<ConnectionSettings.HostPort> hosts = s.has("hosts") ? hosts(s, problems) : List.of();
        String host = hosts.isEmpty() ? s.string("host", null) : hosts.get(0).host();
        long port = hosts.isEmpty() ? s.integer("port", 5432) : hosts.get(0).port();
        String database = s.string("database", null);
        String user = s.string("user", null);
        String password = s.string("password", "");
        if (s.has("password-file")) {
            if (s.has("password")) {
                problems.add(s.qualified("password") + " and " + s.qualified("password-file") + " are both set; keep one");
            }
            String file = s.string("password-file", "");
            try {
                // The file's first line, as libpq's password files and Kubernetes secrets hold it.
                password = Files.readString(Path.of(file), StandardCharsets.UTF_8).lines().findFirst().orElse("");
            }
            catch (IOException | RuntimeException e) {
                problems.add(s.qualified("password-file") + ": cannot read " + file + " (" + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); point it at a readable file holding the password");
            }
        }
        String sslMode = s.string("sslmode", "prefer");
        if (!ConnectionSettings.SSL_MODES.contains(sslMode)) {
            problems.add(s.qualified("sslmode") + " must be one of disable, allow, prefer, require, verify-ca, verify-full; got '"
                    + sslMode + "'");
        }
        String sslRootCert = s.has("sslrootcert") ? s.string("sslrootcert", null) : null;
        if (sslRootCert != null && !Files.isReadable(Path.of(sslRootCert))) {
            problems.add(s.qualified("sslrootcert") + ": cannot read " + sslRootCert + "; point it at the CA certificate (PEM)");
        }
        if (port < 1 || port > 65535) {
            problems.add(s.qualified("port") + " must be between 1 and 65535, got " + port);
        }
        // A missing host, database or user is already reported as required.
        for (String[] required : new String[][] {{"host", host}, {"database", database}, {"user", user}}) {
            if (required[1] != null && required[1].isBlank()) {
                problems.add(s.qualified(required[0]) + " is empty");
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidSettings(problems);
        }
        if (host == null || database == null || user == null) {
            return null;
        }
        return hosts.isEmpty() ? new ConnectionSettings(host, (int) port, database, user, password, sslMode, sslRootCert)
                : ConnectionSettings.primaryOf(hosts, database, user, password, sslMode, sslRootCert);
    }

    /** {@code hosts: [host:port, ...]}: a primary and its standbys, in the order to try them. */
    private static List<ConnectionSettings.HostPort> hosts(Section s, List<String> problems) {
        if (s.has("host") || s.has("port")) {
            problems.add(s.qualified("hosts") + " and " + s.qualified(s.has("host") ? "host" : "port") + " are both set; list every"
                    + " server as host:port in hosts, or name one with host and port");
        }
        List<String> entries = s.strings("hosts");
        if (entries.isEmpty() && s.isEmptyList("hosts")) {
            problems.add(s.qualified("hosts") + " is empty; list the servers as host:port, e.g. [db-a:5432, db-b:5432]");
        }
        List<ConnectionSettings.HostPort> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\[[0-9a-fA-F:.]+]|[^:\\[\\]\\s]+)(?::(\\d{1,5}))?")
                    .matcher(entries.get(i).strip());
            int port = m.matches() && m.group(2) != null ? Integer.parseInt(m.group(2)) : 5432;
            if (!m.matches() || port < 1 || port > 65535) {
                problems.add(s.qualified("hosts") + "[" + i + "] must be host or host:port (IPv6 as [addr]:port), got '"
                        + entries.get(i) + "'");
                continue;
            }
            String host = m.group(1).startsWith("[") ? m.group(1).substring(1, m.group(1).length() - 1) : m.group(1);
            out.add(new ConnectionSettings.HostPort(host, port));
        }
        return out;
    }

    private static List<TableSelector> tables(Section top) {
        List<String> names = top.strings("tables");
        if (names.isEmpty() && top.isEmptyList("tables")) {
            top.problem("tables is empty; list the schema-qualified tables to copy, e.g. [public.orders] or [public.*]");
        }
        List<TableSelector> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < names.size(); i++) {
            TableSelector selector;
            try {
                selector = TableSelector.parse(names.get(i));
            }
            catch (IllegalArgumentException e) {
                top.problem("tables[" + i + "]: " + e.getMessage());
                continue;
            }
            String key = (selector.schemaGlob() ? "*" : "=") + selector.schema() + "\0" + (selector.nameGlob() ? "*" : "=") + selector.name();
            if (!seen.add(key)) {
                top.problem("tables[" + i + "]: " + (selector.isPattern() ? selector : selector.table()) + " is listed twice");
                continue;
            }
            out.add(selector);
        }
        return out;
    }
}
