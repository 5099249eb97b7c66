package dev.scry.backfill.source;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The two readers of the slot's pgoutput stream ({@code stream.reader}). Which one runs is decided
 * by {@link ChangeSources} alone; the rest of the tree holds a {@link ChangeSource}.
 */
public enum StreamReader {
    /** Our own decoder of the pgoutput stream, through pgjdbc's replication API (the default). */
    PGOUTPUT("pgoutput"),
    /** The embedded Debezium 3.6.1 engine on the same slot and publication. */
    DEBEZIUM("debezium");

    private final String configName;

    StreamReader(String configName) {
        this.configName = configName;
    }

    /** The name {@code stream.reader} takes. */
    public String configName() {
        return configName;
    }

    /** The reader a configured name means, if any. */
    public static Optional<StreamReader> named(String name) {
        return Arrays.stream(values()).filter(r -> r.configName.equals(name)).findFirst();
    }

    /** The names, for a message: {@code pgoutput | debezium}. */
    public static String names() {
        return Arrays.stream(values()).map(StreamReader::configName).collect(Collectors.joining(" | "));
    }
}
