package dev.scry.backfill.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How far the shadow has got: the phase, the source LSN that phase has covered, and the
 * connector's own offset (opaque here; Debezium reads it back to resume exactly after it).
 */
public record SourcePosition(Phase phase, Lsn lsn, Map<String, Object> offset) {

    public SourcePosition {
        Objects.requireNonNull(phase, "phase");
        Objects.requireNonNull(lsn, "lsn");
        offset = Collections.unmodifiableMap(new LinkedHashMap<>(offset));
    }
}
