package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.error.SetupException;

/** BACKFILL_TLS_PROVIDER decides which implementation pgjdbc's SSLContext.getInstance("TLS") returns. */
class TlsProviderTest {

    @AfterEach
    void backToTheDefault() {
        TlsProvider.install(null);
    }

    @Test
    void conscryptByDefault() {
        assertThat(TlsProvider.install(null)).isEqualTo("Conscrypt");
        assertThat(TlsProvider.install("")).isEqualTo("Conscrypt");
        assertThat(TlsProvider.install("conscrypt")).isEqualTo("Conscrypt");
    }

    @Test
    void jdkTakesConscryptOutAgain() {
        TlsProvider.install(null);
        assertThat(TlsProvider.install("jdk")).isEqualTo("SunJSSE");
        assertThat(TlsProvider.tlsProviderName()).isEqualTo("SunJSSE");
    }

    @Test
    void anUnknownNameIsASetupError() {
        assertThatThrownBy(() -> TlsProvider.install("openssl")).isInstanceOf(SetupException.class)
                .hasMessage("BACKFILL_TLS_PROVIDER is 'openssl'; set it to 'conscrypt' (the default) or 'jdk'");
    }
}
