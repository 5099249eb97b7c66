package dev.scry.backfill.source;

import java.util.Optional;

import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Lsn;

/**
 * Whether the slot on the server the pipeline reached can continue from the shadow's checkpoint:
 * checked before a command writes anything and again each time the stream starts, since after a
 * failover that is another server. Continuing is safe when the slot exists, is usable, and has
 * not been confirmed beyond the checkpoint: the server then skips every transaction that commits
 * before the checkpoint and sends every later one. A slot that trails the checkpoint is fine (a
 * crash between the shadow's commit and the slot's confirmation, or a synchronized copy that was
 * a little behind its primary's slot when the standby was promoted).
 */
public final class ResumableSlot {

    private ResumableSlot() {
    }

    /** Refuses, naming why and what to do, unless {@code found} can continue from {@code checkpoint}. */
    public static void check(String slot, Lsn checkpoint, Optional<SlotInfo> found, String where) {
        String startOver = "; start over with `teardown --drop-metadata`, empty the shadow tables and run `snapshot`";
        if (found.isEmpty()) {
            throw new SetupException("replication slot " + slot + " does not exist on the source " + where + ", so the changes"
                    + " after checkpoint LSN " + checkpoint + " are lost to this pipeline (after a failover: the promoted standby"
                    + " had no synchronized copy of it; see slot-failover in the README)" + startOver);
        }
        SlotInfo info = found.get();
        if (info.invalidated() != null) {
            throw new SetupException("replication slot " + slot + " on the source " + where + " was invalidated by the server ("
                    + info.invalidated() + "), so the changes after checkpoint LSN " + checkpoint + " are lost to this pipeline"
                    + startOver);
        }
        Lsn confirmed = info.confirmedFlush();
        if (confirmed != null && confirmed.isAfter(checkpoint)) {
            throw new SetupException("replication slot " + slot + " was confirmed up to " + confirmed
                    + ", beyond this pipeline's checkpoint " + checkpoint + "; something else consumed it and the changes in"
                    + " between are gone. Start over with `teardown --drop-metadata` and `snapshot`");
        }
    }
}
