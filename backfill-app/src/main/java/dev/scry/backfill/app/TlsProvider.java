package dev.scry.backfill.app;

import java.security.Security;

import org.conscrypt.Conscrypt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.error.SetupException;

/**
 * Chooses the TLS implementation behind every PostgreSQL connection of the process, chosen by
 * the environment variable {@value #VARIABLE}: {@code conscrypt} (the default) or {@code jdk}.
 *
 * <p>Every row of a snapshot and every change of a stream crosses TLS twice in this process, in
 * from the source and out to the shadow. The JDK's own implementation (JSSE) does that work in
 * Java: on the benchmark's 2-core machine it cost about a third of the relay's CPU, and its code
 * kept the JIT compilers busy for the whole of a short run. Conscrypt does it in native code
 * (BoringSSL). pgjdbc asks for {@code SSLContext.getInstance("TLS")}, so putting Conscrypt first
 * among the providers is all it takes; pgjdbc keeps doing the sslmode checks (CA, host name) with
 * its own trust managers. {@code jdk} keeps the JDK's, for installations that must use it, and
 * the JDK's is used anyway on a platform Conscrypt has no native library for.
 */
public final class TlsProvider {

    public static final String VARIABLE = "BACKFILL_TLS_PROVIDER";

    private static final Logger LOG = LoggerFactory.getLogger(TlsProvider.class);

    private TlsProvider() {
    }

    /**
     * Installs the implementation {@code setting} names (null or empty: the default). Idempotent.
     *
     * @return the name of the provider that TLS connections will use
     */
    public static synchronized String install(String setting) {
        String wanted = setting == null || setting.isBlank() ? "conscrypt" : setting.trim();
        switch (wanted) {
            case "jdk":
                Security.removeProvider("Conscrypt");
                break;
            case "conscrypt":
                if (Security.getProvider("Conscrypt") == null) {
                    if (!Conscrypt.isAvailable()) {
                        if (setting != null && !setting.isBlank()) {
                            throw new SetupException(VARIABLE + " is 'conscrypt' but Conscrypt has no native library for "
                                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                                    + "; unset it or set it to 'jdk'");
                        }
                        LOG.debug("Conscrypt has no native library for this platform; TLS through the JDK");
                        break;
                    }
                    Security.insertProviderAt(Conscrypt.newProvider(), 1);
                }
                break;
            default:
                throw new SetupException(VARIABLE + " is '" + wanted + "'; set it to 'conscrypt' (the default) or 'jdk'");
        }
        return tlsProviderName();
    }

    /** The provider {@code SSLContext.getInstance("TLS")} answers with, as pgjdbc calls it. */
    static String tlsProviderName() {
        try {
            return javax.net.ssl.SSLContext.getInstance("TLS").getProvider().getName();
        }
        catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("no TLS implementation in this JVM", e);
        }
    }
}
