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
import dev.scry.backfill.sink.RetryPolicy;
import dev.scry.backfill.sink.schema.SchemaSettings;
import dev.scry.backfill.snapshot.SnapshotSettings;
import dev.scry.backfill.source.StreamReader;
import dev.scry.backfill.transform.TransformConfig;
import dev.scry.backfill.transform.TransformType;
import dev.scry.backfill.throttle.RateLimit;

/**
 * Reads and validates the YAML configuration, once, before anything connects. Every key is
 * declared here with its default; every error names the key path and how to fix it.
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
    static final Set<String> BATCH = Set.of("max-rows", "max-delay-ms");
    static final Set<String> RATE_LIMIT = Set.of("rows-per-second", "bytes-per-second");
    static final Set<String> SNAPSHOT = Set.of("method", "parallelism", "chunk-mb", "chunk-rows", "claim-timeout-ms");
    static final Set<String> STREAM = Set.of("reader");
    static final Set<String> ERRORS = Set.of("tolerance");
    static final Set<String> METRICS = Set.of("host", "port");
    static final Set<String> SCHEMA = Set.of("copy-ownership", "copy-privileges", "capture-ddl", "check-interval-ms");
    static final Set<String> SEQUENCES = Set.of("sync-interval-ms");
    static final Set<String> RETRY = Set.of("initial-backoff-ms", "max-backoff-ms", "give-up-after-s");

    /** How often a running cdc copies the source's sequence values to the shadow. */
    static final Duration SEQUENCE_SYNC_INTERVAL = Duration.ofSeconds(10);

    /** How often the engine reports its position while the configured tables are idle. */
    static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(10);

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
        return read(file, new Section(file, "", map, env, TOP));
    }

    private BackfillConfig read(String file, Section top) {
        this.file = file;
        String pipeline = top.string("pipeline", null);
        if (!pipeline.matches("[a-z][a-z0-9_]{0,39}")) {
            throw top.error("pipeline must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 40), got '" + pipeline + "'");
        }
        ConnectionSettings source = endpoint(top.section("source", ENDPOINT, true));
        Section shadowSection = top.section("shadow", ENDPOINT, true);
        if (shadowSection.has("hosts")) {
            throw shadowSection.error(shadowSection.qualified("hosts") + " is for the source (the primary among its servers);"
                    + " name the shadow with shadow.host");
        }
        ConnectionSettings shadow = endpoint(shadowSection);
        if (source.host().equalsIgnoreCase(shadow.host()) && source.port() == shadow.port() && source.database().equals(shadow.database())) {
            throw top.error("source and shadow are the same database (" + source.describe() + "); the shadow must be a different database");
        }

        List<TableSelector> selectors = tables(top);
        List<TableId> tables = selectors.stream().filter(t -> !t.isPattern()).map(TableSelector::table).toList();
        long discoverEvery = top.integer("discover-tables-every-ms", 5000, 100, 3_600_000);

        String slot = top.string("slot", "backfill_" + pipeline);
        if (!slot.matches("[a-z0-9_]{1,63}")) {
            throw top.error("slot must hold only a-z, 0-9 and _ (at most 63), as PostgreSQL requires of slot names; got '" + slot + "'");
        }
        String publication = top.string("publication", "backfill_" + pipeline);
        if (publication.isEmpty() || publication.getBytes(StandardCharsets.UTF_8).length > 63 || publication.indexOf('\0') >= 0) {
            throw top.error("publication must be a name of 1 to 63 bytes, got '" + publication + "'");
        }

        Section batch = top.section("batch", BATCH, false);
        int maxRows = (int) batch.integer("max-rows", 2048, 1, 1_000_000);
        long maxDelay = batch.integer("max-delay-ms", 200, 0, 600_000);

        Section rate = top.section("rate-limit", RATE_LIMIT, false);
        RateLimit rateLimit = new RateLimit(rate.integer("rows-per-second", 0, 0, Long.MAX_VALUE),
                rate.integer("bytes-per-second", 0, 0, Long.MAX_VALUE));

        Section snap = top.section("snapshot", SNAPSHOT, false);
        String method = snap.string("method", "copy");
        SnapshotSettings.Method snapshotMethod = switch (method) {
            case "copy" -> SnapshotSettings.Method.COPY;
            case "debezium" -> SnapshotSettings.Method.DEBEZIUM;
            default -> throw snap.error(snap.qualified("method") + " must be copy or debezium, got '" + method + "'");
        };
        SnapshotSettings snapshot = new SnapshotSettings(snapshotMethod, (int) snap.integer("parallelism", 2, 1, 64),
                (int) snap.integer("chunk-mb", SnapshotSettings.DEFAULT_CHUNK_MB, 0, 1_048_576),
                (int) snap.integer("chunk-rows", SnapshotSettings.DEFAULT_CHUNK_ROWS, 100, 1_000_000),
                (int) snap.integer("claim-timeout-ms", SnapshotSettings.DEFAULT_CLAIM_TIMEOUT_MS, 1_000, 3_600_000));

        Section stream = top.section("stream", STREAM, false);
        String readerName = stream.string("reader", StreamReader.PGOUTPUT.configName());
        StreamReader reader = StreamReader.named(readerName).orElseThrow(() -> stream.error(stream.qualified("reader") + " must be "
                + StreamReader.names() + ", got '" + readerName + "'"));

        Section retrySection = top.section("retry", RETRY, false);
        long initial = retrySection.integer("initial-backoff-ms", 200, 1, 600_000);
        long max = retrySection.integer("max-backoff-ms", 30_000, 1, 3_600_000);
        if (max < initial) {
            throw retrySection.error(retrySection.qualified("max-backoff-ms") + " (" + max + ") must be >= initial-backoff-ms (" + initial + ")");
        }
        RetryPolicy retry = new RetryPolicy(Duration.ofMillis(initial), Duration.ofMillis(max),
                Duration.ofSeconds(retrySection.integer("give-up-after-s", 600, 0, 7 * 24 * 3600)));

        Section errors = top.section("errors", ERRORS, false);
        String tolerance = errors.string("tolerance", "none");
        if (!tolerance.equals("none") && !tolerance.equals("all")) {
            throw errors.error(errors.qualified("tolerance") + " must be none (stop on a change the shadow rejects) or all (store it as"
                    + " a dead letter and go on), got '" + tolerance + "'");
        }

        if (source.primaryOfSeveral() && snapshotMethod == SnapshotSettings.Method.DEBEZIUM) {
            throw snap.error("source.hosts needs snapshot.method: copy (the Debezium engine connects to one host); name one"
                    + " server with source.host, or use the copy snapshot");
        }
        if (source.primaryOfSeveral() && reader == StreamReader.DEBEZIUM) {
            throw stream.error("source.hosts needs stream.reader: pgoutput (the Debezium engine connects to one host); name one"
                    + " server with source.host, or use the pgoutput reader");
        }
        boolean slotFailover = top.bool("slot-failover", true);

        List<TransformConfig> transforms = transforms(top);
        Section metricsSection = top.section("metrics", METRICS, false);
        String metricsHost = metricsSection.string("host", "127.0.0.1");
        int metricsPort = (int) metricsSection.integer("port", 9464, 0, 65535);
        Section schemaSection = top.section("schema", SCHEMA, false);
        SchemaSettings schema = new SchemaSettings(schemaSection.bool("copy-ownership", false), schemaSection.bool("copy-privileges", false),
                schemaSection.bool("capture-ddl", false),
                schemaSection.integer("check-interval-ms", SchemaSettings.CHECK_INTERVAL_MS, 0, 86_400_000));
        Section sequences = top.section("sequences", SEQUENCES, false);
        long sequenceSync = sequences.integer("sync-interval-ms", SEQUENCE_SYNC_INTERVAL.toMillis(), 0, 86_400_000);
        return new BackfillConfig(file, pipeline, source, shadow, selectors, tables, slot, publication, maxRows,
                Duration.ofMillis(maxDelay), rateLimit, Duration.ofMillis(top.integer("heartbeat-interval-ms", HEARTBEAT_INTERVAL.toMillis(), 100, 3_600_000)), snapshot, Duration.ofMillis(discoverEvery), retry, top.bool("standby", false), tolerance.equals("all"), transforms, metricsHost, metricsPort,
                schema, Duration.ofMillis(sequenceSync), slotFailover, reader);
    }

    /**
     * Each entry's type and keys, as {@link TransformType} declares them, and its settings as far
     * as they can be checked without the tables; whether named columns exist is checked against
     * the source at start. A declared key {@code K-file} (hash's {@code key-file}) gives {@code K}
     * from the first line of a file.
     */
    private List<TransformConfig> transforms(Section top) {
        List<Object> raw = top.list("transforms");
        List<TransformConfig> out = new ArrayList<>();
        Map<String, TransformType> types = TransformType.all();
        String typeNames = String.join(", ", types.keySet());
        for (int i = 0; i < raw.size(); i++) {
            String path = "transforms[" + i + "]";
            if (!(raw.get(i) instanceof Map<?, ?> map) || !(map.get("type") instanceof String name)) {
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
            Section entry = new Section(file, path, map, env, known);
            Map<String, Object> settings = new java.util.LinkedHashMap<>();
            for (String key : keys) {
                if (key.equals("type")) {
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
            out.add(new TransformConfig(name, settings, path));
        }
        return out;
    }

    private String file;

    private static ConnectionSettings endpoint(Section s) {
        List<ConnectionSettings.HostPort> hosts = s.has("hosts") ? hosts(s) : List.of();
        String host = hosts.isEmpty() ? s.string("host", null) : hosts.get(0).host();
        int port = hosts.isEmpty() ? (int) s.integer("port", 5432, 1, 65535) : hosts.get(0).port();
        String database = s.string("database", null);
        String user = s.string("user", null);
        String password = s.string("password", "");
        if (s.has("password-file")) {
            if (s.has("password")) {
                throw s.error(s.qualified("password") + " and " + s.qualified("password-file") + " are both set; keep one");
            }
            String file = s.string("password-file", null);
            try {
                // The file's first line, as libpq's password files and Kubernetes secrets hold it.
                password = Files.readString(Path.of(file), StandardCharsets.UTF_8).lines().findFirst().orElse("");
            }
            catch (IOException | RuntimeException e) {
                throw s.error(s.qualified("password-file") + ": cannot read " + file + " (" + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : ": " + e.getMessage()) + "); point it at a readable file holding the password");
            }
        }
        String sslMode = s.string("sslmode", "prefer");
        if (!ConnectionSettings.SSL_MODES.contains(sslMode)) {
            throw s.error(s.qualified("sslmode") + " must be one of disable, allow, prefer, require, verify-ca, verify-full; got '"
                    + sslMode + "'");
        }
        String sslRootCert = s.has("sslrootcert") ? s.string("sslrootcert", null) : null;
        if (sslRootCert != null && !Files.isReadable(Path.of(sslRootCert))) {
            throw s.error(s.qualified("sslrootcert") + ": cannot read " + sslRootCert + "; point it at the CA certificate (PEM)");
        }
        if (host.isBlank()) {
            throw s.error(s.qualified("host") + " is empty");
        }
        if (database.isBlank()) {
            throw s.error(s.qualified("database") + " is empty");
        }
        if (user.isBlank()) {
            throw s.error(s.qualified("user") + " is empty");
        }
        return hosts.isEmpty() ? new ConnectionSettings(host, port, database, user, password, sslMode, sslRootCert)
                : ConnectionSettings.primaryOf(hosts, database, user, password, sslMode, sslRootCert);
    }

    /** {@code hosts: [host:port, ...]}: a primary and its standbys, in the order to try them. */
    private static List<ConnectionSettings.HostPort> hosts(Section s) {
        if (s.has("host") || s.has("port")) {
            throw s.error(s.qualified("hosts") + " and " + s.qualified(s.has("host") ? "host" : "port") + " are both set; list every"
                    + " server as host:port in hosts, or name one with host and port");
        }
        List<String> entries = s.strings("hosts");
        if (entries.isEmpty()) {
            throw s.error(s.qualified("hosts") + " is empty; list the servers as host:port, e.g. [db-a:5432, db-b:5432]");
        }
        List<ConnectionSettings.HostPort> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\[[0-9a-fA-F:.]+]|[^:\\[\\]\\s]+)(?::(\\d{1,5}))?")
                    .matcher(entries.get(i).strip());
            int port = m.matches() && m.group(2) != null ? Integer.parseInt(m.group(2)) : 5432;
            if (!m.matches() || port < 1 || port > 65535) {
                throw s.error(s.qualified("hosts") + "[" + i + "] must be host or host:port (IPv6 as [addr]:port), got '"
                        + entries.get(i) + "'");
            }
            String host = m.group(1).startsWith("[") ? m.group(1).substring(1, m.group(1).length() - 1) : m.group(1);
            out.add(new ConnectionSettings.HostPort(host, port));
        }
        return out;
    }

    private static List<TableSelector> tables(Section top) {
        List<String> names = top.strings("tables");
        if (names.isEmpty()) {
            throw top.error("tables is empty; list the schema-qualified tables to copy, e.g. [public.orders] or [public.*]");
        }
        List<TableSelector> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < names.size(); i++) {
            TableSelector selector;
            try {
                selector = TableSelector.parse(names.get(i));
            }
            catch (IllegalArgumentException e) {
                throw top.error("tables[" + i + "]: " + e.getMessage());
            }
            String key = (selector.schemaGlob() ? "*" : "=") + selector.schema() + "\0" + (selector.nameGlob() ? "*" : "=") + selector.name();
            if (!seen.add(key)) {
                throw top.error("tables[" + i + "]: " + (selector.isPattern() ? selector : selector.table()) + " is listed twice");
            }
            out.add(selector);
        }
        return out;
    }
}
