package dev.scry.backfill.app;

import java.util.Optional;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.source.SlotInfo;

/**
 * What {@code status} says a pipeline is doing and what can continue it, from the three facts
 * that decide it: who holds the pipeline's instance lock on the shadow (a running command), the
 * checkpoint, and the slot. It reaches the same verdicts {@code resume} would: a streaming
 * checkpoint without its slot, or behind a slot someone else confirmed, cannot be resumed.
 *
 * @param name      running, stopped, not started, snapshot interrupted, torn down, slot overtaken,
 *                  slot in use elsewhere
 * @param running   a command of this pipeline holds its lock now
 * @param heldBy    who holds the lock (application name, address, backend pid), when someone does
 * @param resumable {@code resume} would continue from what is there now (false while running)
 * @param advice    one sentence for the operator: what runs, or what to run next
 */
record PipelineState(String name, boolean running, String heldBy, boolean resumable, String advice) {

    static PipelineState of(String pipeline, String slotName, Optional<String> lockHolder, Optional<Checkpoint> checkpoint,
                            Optional<SlotInfo> slot) {
        if (lockHolder.isPresent()) {
            String slotNow = slot.map(s -> s.active() ? "slot " + slotName + " is streaming to walsender pid " + s.activePid()
                    : "slot " + slotName + " is idle").orElse("slot " + slotName + " does not exist yet");
            return new PipelineState("running", true, lockHolder.get(), false,
                    lockHolder.get() + " holds the pipeline's lock on the shadow; " + slotNow);
        }
        if (slot.isPresent() && slot.get().active()) {
            return new PipelineState("slot in use elsewhere", false, null, false, "no command of pipeline " + pipeline
                    + " holds its lock on the shadow, but walsender pid " + slot.get().activePid() + " streams slot " + slotName
                    + " to another consumer; `resume` is refused until it lets go");
        }
        if (checkpoint.isEmpty()) {
            return new PipelineState("not started", false, null, false, "no checkpoint on the shadow; `snapshot` copies the"
                    + " tables (then `cdc` streams), or `cdc` alone streams the changes committed from then on"
                    + slot.map(s -> "; slot " + slotName + " exists without a checkpoint: `cdc` streams from it, `teardown` drops it")
                            .orElse(""));
        }
        Lsn lsn = checkpoint.get().lsn();
        if (checkpoint.get().phase() == Phase.SNAPSHOT) {
            return new PipelineState("snapshot interrupted", false, null, true, slot.isPresent()
                    ? "`resume` continues the copy where it stopped (or starts it over if its tables changed since), then streams"
                    : "its slot " + slotName + " is gone; `resume` starts the copy over under a new slot, then streams");
        }
        if (slot.isEmpty()) {
            return new PipelineState("torn down", false, null, false, "replication slot " + slotName + " is gone, so checkpoint LSN "
                    + lsn + " cannot be resumed; start over with `teardown --drop-metadata`, empty the shadow tables, then `snapshot`");
        }
        Lsn confirmed = slot.get().confirmedFlush();
        if (confirmed != null && confirmed.isAfter(lsn)) {
            return new PipelineState("slot overtaken", false, null, false, "replication slot " + slotName + " was confirmed up to "
                    + confirmed + ", beyond checkpoint LSN " + lsn + ", by something else, and the changes in between are gone;"
                    + " start over with `teardown --drop-metadata`, empty the shadow tables, then `snapshot`");
        }
        return new PipelineState("stopped", false, null, true, "no daemon runs pipeline " + pipeline
                + "; `resume` (or `cdc`) continues from checkpoint LSN " + lsn);
    }

    /** The one line {@code status} prints: the name, then the advice. */
    String line() {
        return name + ": " + advice;
    }
}
