package dev.scry.backfill.checkpoint;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;

/**
 * The pipeline's last committed position on the shadow.
 *
 * @param offset               the connector's offset at that position; empty once the pipeline has
 *                             been reset to start over
 * @param snapshotStartedAt    when the current snapshot began, if one ever did
 * @param snapshotCompletedAt  when it completed, if it did
 */
public record Checkpoint(String pipeline, String slot, Phase phase, Lsn lsn, Optional<Map<String, Object>> offset,
                         long batches, Instant updatedAt, Instant snapshotStartedAt, Instant snapshotCompletedAt) {

    public boolean snapshotCompleted() {
        return snapshotCompletedAt != null;
    }
}
