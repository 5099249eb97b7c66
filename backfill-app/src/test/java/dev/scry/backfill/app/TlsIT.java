package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.testing.PgPair;

/**
 * sslmode: verify-full to source and shadow, the replication connection included, through Conscrypt
 * and through the JDK's TLS; a wrong CA is refused.
 */
class TlsIT extends PipelineTest {

    private Path ca;

    @BeforeEach
    void setUp() throws Exception {
        Optional<Path> rootCert = PgPair.get().sslRootCert();
        assumeTrue(rootCert.isPresent(), "needs the local clusters' TLS certificates (scripts/pg-local.sh makes them)");
        ca = rootCert.get();
        db = PgPair.get().newDatabases("tls_it");
        try (Connection c = db.source(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE secret (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO secret SELECT g, 'v' FROM generate_series(1, 500) g");
        }
    }

    private String tls(Path rootCert) {
        return "sslmode: verify-full, sslrootcert: '" + rootCert + "'";
    }

    @Test
    void verifyFullToBothSidesCopiesAndStreams() throws Exception {
        configure(ca);

        Pipeline.Outcome snapshot = pipeline.run("snapshot");
        assertThat(snapshot.exitCode()).as(snapshot.err()).isZero();
        pipeline.source("UPDATE secret SET v = 'changed' WHERE id % 2 = 0", "DELETE FROM secret WHERE id > 450");
        Pipeline.Outcome cdc = pipeline.run("cdc", "--exit-when-caught-up");
        assertThat(cdc.exitCode()).as(cdc.err()).isZero();
        pipeline.assertShadowEqualsSource("public.secret");
        assertThat(TlsProvider.tlsProviderName()).as("TLS through Conscrypt by default").isEqualTo("Conscrypt");
    }

    @Test
    void theJdkImplementationCarriesVerifyFullWhenAskedFor() throws Exception {
        configure(ca);
        Path log = dir.resolve("snapshot.log");
        Process snapshot = pipeline.spawn(log, Map.of(TlsProvider.VARIABLE, "jdk"), "snapshot");
        assertThat(Pipeline.waitFor(snapshot, Duration.ofSeconds(120))).as(Files.readString(log)).isZero();
        pipeline.assertShadowEqualsSource("public.secret");
    }

    @Test
    void anUnknownImplementationIsRefusedBeforeAnythingIsWritten() throws Exception {
        configure(ca);
        Path log = dir.resolve("snapshot.log");
        Process snapshot = pipeline.spawn(log, Map.of(TlsProvider.VARIABLE, "openssl"), "snapshot");
        assertThat(Pipeline.waitFor(snapshot, Duration.ofSeconds(60))).isEqualTo(Main.USAGE);
        assertThat(Files.readString(log).strip()).isEqualTo("error: " + TlsProvider.VARIABLE
                + " is 'openssl'; set it to 'conscrypt' (the default) or 'jdk'");
        assertThat(pipeline.slotExists()).isFalse();
    }

    private void configure(Path rootCert) throws Exception {
        pipeline = new Pipeline(db, dir, List.of("public.secret"), "");
        Files.writeString(pipeline.config(), Files.readString(pipeline.config()).replace("password: ''}", "password: '', " + tls(rootCert) + "}"));
    }

    @Test
    void certificateFromAnotherAuthorityIsRefused() throws Exception {
        Path otherCa = dir.resolve("other-ca.crt");
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
                "-keyout", dir.resolve("other.key").toString(), "-out", otherCa.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        pipeline = new Pipeline(db, dir, List.of("public.secret"), "");
        String yaml = java.nio.file.Files.readString(pipeline.config()).replaceFirst("password: ''}", "password: '', " + tls(otherCa) + "}");
        java.nio.file.Files.writeString(pipeline.config(), yaml);

        Pipeline.Outcome refused = pipeline.run("snapshot");

        assertThat(refused.exitCode()).isNotZero();
        assertThat(refused.err()).contains("cannot connect to source").doesNotContain("\n\n");
        assertThat(pipeline.slotExists()).isFalse();
    }
}
