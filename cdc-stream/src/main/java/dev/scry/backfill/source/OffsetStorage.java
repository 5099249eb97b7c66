package dev.scry.backfill.source;

import java.util.Map;

/**
 * Which Kafka Connect {@code OffsetBackingStore} the engine reads its starting offset from, and
 * the properties it needs. The engine instantiates the class by name, so the stage downstream that
 * owns the checkpoint (checkpoint-store) supplies it without this module depending on it.
 */
public record OffsetStorage(String className, Map<String, String> properties) {

    public OffsetStorage {
        properties = Map.copyOf(properties);
    }
}
