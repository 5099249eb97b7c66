package dev.scry.backfill.transform;

import java.util.Map;

/**
 * One entry of {@code transforms:} as the configuration loader read it: its type, its other keys
 * (values already taken from the environment or files), and where it is in the file.
 */
public record TransformConfig(String type, Map<String, Object> settings, String path) {

    public TransformConfig {
        settings = Map.copyOf(settings);
    }

    @Override
    public String toString() {
        // Settings can hold a hash key.
        return path + " (" + type + ")";
    }
}
