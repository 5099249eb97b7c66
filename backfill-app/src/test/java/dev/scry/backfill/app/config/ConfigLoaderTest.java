package dev.scry.backfill.app.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.model.TableId;
import dev.scry.backfill.source.StreamReader;

class ConfigLoaderTest {

    private static final String VALID = """
            pipeline: demo
            source: {host: 127.0.0.1, port: 54320, database: app, user: postgres, password: secret}
            shadow: {host: 127.0.0.1, port: 54321, database: shadow, user: postgres}
            tables: [public.customers, '"Sales Dept"."Order ""Lines""\"']
            """;

    @TempDir
    Path dir;

    private final Map<String, String> env = new java.util.HashMap<>(Map.of("PGPASS", "from env", "PORT", "6543"));
    private final ConfigLoader loader = new ConfigLoader(env::get);

    @Test
    void readsAValidFileAndFillsDefaults() throws Exception {
        BackfillConfig c = load(VALID);

        assertThat(c.pipeline()).isEqualTo("demo");
        assertThat(c.source().port()).isEqualTo(54320);
        assertThat(c.source().password()).isEqualTo("secret");
        assertThat(c.shadow().password()).isEmpty();
        assertThat(c.tables()).containsExactly(new TableId("public", "customers"), new TableId("Sales Dept", "Order \"Lines\""));
        assertThat(c.slot()).isEqualTo("backfill_demo");
        assertThat(c.publication()).isEqualTo("backfill_demo");
        assertThat(c.batchMaxRows()).isEqualTo(2048);
        assertThat(c.batchMaxDelay()).isEqualTo(Duration.ofMillis(200));
        assertThat(c.rateLimit().unlimited()).isTrue();
        assertThat(c.schema()).isEqualTo(new dev.scry.backfill.sink.schema.SchemaSettings(false, false));
        assertThat(c.sequenceSyncInterval()).isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void schemaAndSequenceKeysAreReadAndCheckedWithTheirPaths() throws Exception {
        BackfillConfig c = load(VALID + "schema: {copy-ownership: true, copy-privileges: true}\nsequences: {sync-interval-ms: 0}\n");

        assertThat(c.schema()).isEqualTo(new dev.scry.backfill.sink.schema.SchemaSettings(true, true));
        assertThat(c.sequenceSyncInterval()).isZero();
        assertError(VALID + "schema: {copy-ownership: yes please}\n").hasMessageContaining("schema.copy-ownership must be true or false");
        assertError(VALID + "schema: {copy-grants: true}\n").hasMessageContaining("schema.copy-grants is not a known key")
                .hasMessageContaining("copy-ownership, copy-privileges");
        assertError(VALID + "sequences: {sync-interval-ms: -5}\n").hasMessageContaining("sequences.sync-interval-ms must be between 0 and");
    }

    @Test
    void substitutesEnvironmentVariablesAnywhereWithTypes() throws Exception {
        BackfillConfig c = load(VALID.replace("port: 54320", "port: ${PORT}").replace("password: secret", "password: ${PGPASS}")
                + "slot: ${SLOT:-fallback_slot}\npublication: pub_$${literal}\n");

        assertThat(c.source().port()).isEqualTo(6543);
        assertThat(c.source().password()).isEqualTo("from env");
        env.put("PGPASS", "007");
        assertThat(load(VALID.replace("password: secret", "password: ${PGPASS}")).source().password())
                .as("digits stay text in a string key").isEqualTo("007");
        assertThat(c.slot()).isEqualTo("fallback_slot");
        assertThat(c.publication()).isEqualTo("pub_${literal}");
    }

    @Test
    void referencesWorkInsideFlowMappingsAndValuesCannotChangeTheStructure() throws Exception {
        env.put("PGPASS", "p@ss: {w}, #not a comment");
        BackfillConfig c = load(VALID.replace("password: secret", "password: ${PGPASS}"));

        assertThat(c.source().password()).isEqualTo("p@ss: {w}, #not a comment");
        assertThat(c.source().database()).isEqualTo("app");
    }

    @Test
    void unsetVariableIsNamedWithItsKey() {
        assertError(VALID.replace("password: secret", "password: ${NOPE}"))
                .hasMessageContaining("source.password uses ${NOPE}").hasMessageContaining("NOPE is not set");
    }

    @Test
    void unknownKeysAreNamedWithTheirPath() {
        assertError(VALID + "tabels: []\n").hasMessageContaining("tabels is not a known key");
        assertError(VALID.replace("host: 127.0.0.1, port: 54320", "hots: 127.0.0.1, port: 54320"))
                .hasMessageContaining("source.hots is not a known key").hasMessageContaining("host, hosts, password, password-file, port, sslmode, sslrootcert, user");
        assertError(VALID + "batch: {max-rowz: 1}\n").hasMessageContaining("batch.max-rowz is not a known key");
    }

    @Test
    void wrongTypesAndRangesAreNamed() {
        assertError(VALID.replace("port: 54320", "port: abc")).hasMessageContaining("source.port must be an integer, got 'abc'");
        assertError(VALID.replace("port: 54320", "port: 70000")).hasMessageContaining("source.port must be between 1 and 65535");
        assertError(VALID + "batch: {max-rows: 0}\n").hasMessageContaining("batch.max-rows must be between 1 and 1000000");
        assertError(VALID + "rate-limit: {rows-per-second: -1}\n").hasMessageContaining("rate-limit.rows-per-second must be between 0");
        assertError(VALID.replaceAll("tables: .*", "tables: {a: 1}")).hasMessageContaining("tables must be a list");
        assertError(VALID + "batch: 5\n").hasMessageContaining("batch must be a mapping");
    }

    @Test
    void everyProblemOfTheFileIsNamedInOneMessageWithItsKeyPath() {
        assertError(VALID.replace("pipeline: demo", "pipeline: Demo-1").replace("port: 54320", "port: abc")
                + "batch: {max-rows: 0, max-delay-ms: -1}\nsnapshot: {method: fast}\ntabels: []\n"
                + "transforms: [{type: mask, columns: [a.b.c], keep-last: x}, {type: hash, columns: [a.b.c]}]\n")
                .hasMessageContaining("8 problems")
                .hasMessageContaining("pipeline must start with a lower-case letter")
                .hasMessageContaining("source.port must be an integer, got 'abc'")
                .hasMessageContaining("batch.max-rows must be between 1 and 1000000, got 0")
                .hasMessageContaining("batch.max-delay-ms must be between 0 and 600000, got -1")
                .hasMessageContaining("snapshot.method must be copy or debezium, got 'fast'")
                .hasMessageContaining("tabels is not a known key")
                .hasMessageContaining("transforms[0].keep-last must be a number, got x")
                .hasMessageContaining("transforms[1].key is required")
                .hasMessageNotContaining("\n");
    }

    @Test
    void aMappingsRecordChecksEveryValueInItsConstructor() {
        assertThatThrownBy(() -> new ConfigRecords.Retry(0, 10, -1)).isInstanceOf(InvalidSettings.class)
                .hasMessageContaining("retry.initial-backoff-ms must be between 1 and 600000, got 0")
                .hasMessageContaining("retry.give-up-after-s must be between 0 and 604800, got -1");
        assertThatThrownBy(() -> new ConfigRecords.Retry(500, 100, 60)).hasMessageContaining("retry.max-backoff-ms (100) must be >="
                + " initial-backoff-ms (500)");
        assertThat(new ConfigRecords.TopLevel("demo", null, null, 5000, 10_000).slot()).isEqualTo("backfill_demo");
    }

    @Test
    void wrongTypedPasswordIsNotEchoed() {
        assertError(VALID.replace("password: secret", "password: [hunter2]"))
                .hasMessageContaining("source.password must be a string").hasMessageNotContaining("hunter2");
    }

    @Test
    void missingRequiredKeysAreNamed() {
        assertError(VALID.replace("pipeline: demo\n", "")).hasMessageContaining("pipeline is required");
        assertError(VALID.replace("host: 127.0.0.1, port: 54320", "port: 54320")).hasMessageContaining("source.host is required");
        assertError(VALID.replaceAll("tables: .*\n", "")).hasMessageContaining("tables is required");
        assertError(VALID.replaceAll("shadow: .*\n", "")).hasMessageContaining("shadow is required");
    }

    @Test
    void badTablesAreRefused() {
        assertError(VALID.replaceAll("tables: .*", "tables: []")).hasMessageContaining("tables is empty");
        assertError(VALID.replaceAll("tables: .*", "tables: [customers]")).hasMessageContaining("tables[0]").hasMessageContaining("not schema-qualified");
        assertError(VALID.replaceAll("tables: .*", "tables: [public.a, PUBLIC.A]")).hasMessageContaining("tables[1]: public.a is listed twice");
    }

    @Test
    void patternsAreKeptApartFromExactTables() throws Exception {
        BackfillConfig config = load(VALID.replaceAll("tables: .*", "tables: [app.*, public.orders, '\"Odd\".\"*\"']"));
        assertThat(config.hasPatterns()).isTrue();
        assertThat(config.selectors()).hasSize(3);
        assertThat(config.tables()).containsExactly(TableId.parse("public.orders"), new TableId("Odd", "*"));
    }

    @Test
    void namesThatPostgresWouldRefuseAreRefused() {
        assertError(VALID.replace("pipeline: demo", "pipeline: Demo-1")).hasMessageContaining("pipeline must start with a lower-case letter");
        assertError(VALID + "slot: Bad-Slot\n").hasMessageContaining("slot must hold only a-z, 0-9 and _");
    }

    @Test
    void sourceAndShadowMustDiffer() {
        assertError(VALID.replace("port: 54321, database: shadow", "port: 54320, database: app"))
                .hasMessageContaining("source and shadow are the same database");
    }

    @Test
    void badTransformEntriesAreNamedWithTheirPath() throws Exception {
        assertError(VALID + "transforms: [{hash: public.customers.email}]\n").hasMessageContaining("transforms[0] must be a mapping with a type");
        assertError(VALID + "transforms: [{type: shuffle, columns: [a.b.c]}]\n").hasMessageContaining("transforms[0].type 'shuffle' is not a transform");
        assertError(VALID + "transforms: [{type: mask, columns: [a.b.c], keep: 4}]\n").hasMessageContaining("transforms[0].keep is not a known key");
        assertError(VALID + "transforms: [{type: hash, columns: [a.b.c]}]\n").hasMessageContaining("transforms[0].key is required");
        env.put("HASH_KEY", "from env");
        BackfillConfig c = load(VALID + "transforms: [{type: hash, columns: [a.b.c], key: '${HASH_KEY}'}]\n");
        assertThat(c.transforms().get(0).settings().get("key")).isEqualTo("from env");
        assertThat(c.transforms().get(0).toString()).doesNotContain("from env");
    }

    @Test
    void unreadableFilesAreNamed() throws Exception {
        assertThatThrownBy(() -> loader.load(dir.resolve("missing.yaml"))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("missing.yaml: no such file");
        assertError("").hasMessageContaining("the file is empty");
        assertError("- just\n- a list\n").hasMessageContaining("the top level must be a mapping");
        assertError("pipeline: [unclosed\n").hasMessageContaining(":2: not valid YAML").hasMessageNotContaining("\n");
        assertError(VALID + "pipeline: again\n").hasMessageContaining("not valid YAML").hasMessageContaining("duplicate key");
    }

    @Test
    void sourceHostsNameEveryServerAndThePrimaryAmongThemIsUsed() throws Exception {
        BackfillConfig c = load(VALID.replace("host: 127.0.0.1, port: 54320", "hosts: ['db-a:5433', '[::1]:5434', db-c]"));

        assertThat(c.source().jdbcUrl()).isEqualTo("jdbc:postgresql://db-a:5433,[::1]:5434,db-c:5432/app");
        assertThat(c.source().jdbcProperties("t").getProperty("targetServerType")).isEqualTo("primary");
        assertThat(c.source().replicationProperties("t").getProperty("targetServerType")).isEqualTo("primary");
        assertThat(c.source().describe()).isEqualTo("postgres@db-a:5433,[::1]:5434,db-c:5432/app");
        assertThat(load(VALID).source().jdbcProperties("t").getProperty("targetServerType")).as("one host: any server, a standby too")
                .isNull();
    }

    @Test
    void sourceHostsAreRefusedBesideHostOrMalformedOrForTheShadow() {
        assertError(VALID.replace("host: 127.0.0.1, port: 54320", "host: a, hosts: [b]"))
                .hasMessageContaining("source.hosts and source.host are both set");
        assertError(VALID.replace("host: 127.0.0.1, port: 54320", "hosts: [a, 'b:99999']"))
                .hasMessageContaining("source.hosts[1] must be host or host:port");
        assertError(VALID.replace("host: 127.0.0.1, port: 54320", "hosts: []")).hasMessageContaining("source.hosts is empty");
        assertError(VALID.replace("host: 127.0.0.1, port: 54321", "hosts: [a, b]")).hasMessageContaining("shadow.hosts is for the source");
        assertError(VALID.replace("host: 127.0.0.1, port: 54320", "hosts: [a, b]") + "snapshot: {method: debezium}\n")
                .hasMessageContaining("source.hosts needs snapshot.method: copy");
    }

    @Test
    void streamReaderIsIndependentOfTheSnapshotMethodAndValidatedWithItsKeyPath() throws Exception {
        assertThat(load(VALID).streamSettings().reader()).isEqualTo(StreamReader.PGOUTPUT);
        assertThat(load(VALID + "stream: {reader: debezium}\n").streamSettings().reader()).isEqualTo(StreamReader.DEBEZIUM);
        assertThat(load(VALID + "stream: {reader: debezium}\n").streamSettings().engineSnapshot()).isFalse();
        assertThat(load(VALID + "snapshot: {method: debezium}\n").streamSettings().reader()).isEqualTo(StreamReader.PGOUTPUT);
        assertThat(load(VALID + "snapshot: {method: debezium}\n").streamSettings().engineSnapshot()).isTrue();
        assertError(VALID + "stream: {reader: wal2json}\n").hasMessageContaining("stream.reader must be pgoutput | debezium, got 'wal2json'");
        assertError(VALID + "stream: {reader: debezium, speed: 11}\n").hasMessageContaining("speed");
        assertError(VALID.replace("host: 127.0.0.1, port: 54320", "hosts: [a, b]") + "stream: {reader: debezium}\n")
                .hasMessageContaining("source.hosts needs stream.reader: pgoutput");
    }

    @Test
    void slotFailoverIsOnUnlessTurnedOff() throws Exception {
        assertThat(load(VALID).slotCreation().failover()).isTrue();
        assertThat(load(VALID + "slot-failover: false\n").slotCreation().failover()).isFalse();
        assertThat(load(VALID + "slot-failover: false\n").streamSettings().slotCreation().failover()).isFalse();
        assertError(VALID + "slot-failover: maybe\n").hasMessageContaining("slot-failover must be true or false");
    }

    private BackfillConfig load(String yaml) throws Exception {
        Path file = dir.resolve("c" + System.nanoTime() + ".yaml");
        Files.writeString(file, yaml);
        return loader.load(file);
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertError(String yaml) {
        return assertThatThrownBy(() -> load(yaml)).isInstanceOf(ConfigException.class).hasMessageContaining(".yaml");
    }

}
