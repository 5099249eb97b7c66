package dev.scry.backfill.app.bench;

import java.nio.file.Path;

import dev.scry.backfill.app.TlsProvider;
import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.config.ConfigLoader;
import dev.scry.backfill.source.RawEngine;
import dev.scry.backfill.source.StreamSettings;

/**
 * For scripts/bench.sh only: {@code java -cp scry-backfill.jar dev.scry.backfill.app.bench.RawEngineBench
 * CONFIG SLOT CHANGES} streams CHANGES row changes from SLOT through the embedded engine, with the
 * pipeline's configuration and a consumer that does nothing, and prints "changes records seconds".
 */
public final class RawEngineBench {

    private RawEngineBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: RawEngineBench CONFIG SLOT CHANGES");
            System.exit(2);
        }
        // The same TLS as backfill's, so that the two rates compare what runs after the engine.
        TlsProvider.install(System.getenv(TlsProvider.VARIABLE));
        BackfillConfig config = new ConfigLoader().load(Path.of(args[0]));
        StreamSettings s = config.streamSettings();
        StreamSettings own = new StreamSettings(s.pipeline(), s.source(), s.tables(), args[1], s.publication(), s.maxBatchRows(),
                s.maxBatchDelay(), s.heartbeatInterval());
        RawEngine.Result r = RawEngine.drain(own, Long.parseLong(args[2]), 30 * 60_000L);
        System.out.printf("%d %d %.3f%n", r.changes(), r.records(), r.nanos() / 1e9);
        System.exit(0);
    }
}
