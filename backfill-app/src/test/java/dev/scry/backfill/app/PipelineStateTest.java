package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.source.SlotInfo;

/** What `status` says runs and can resume, for each combination of lock, checkpoint and slot. */
class PipelineStateTest {

    private static final Lsn CHECKPOINT = Lsn.parse("0/3000100");

    private static Optional<Checkpoint> checkpoint(Phase phase) {
        return Optional.of(new Checkpoint("p", "backfill_p", phase, CHECKPOINT, Optional.empty(), 7, Instant.now(), Instant.now(),
                phase == Phase.STREAMING ? Instant.now() : null));
    }

    private static Optional<SlotInfo> slot(boolean active, String confirmed) {
        return Optional.of(new SlotInfo("backfill_p", "pgoutput", "app", active, active ? 4242 : 0,
                confirmed == null ? null : Lsn.parse(confirmed), Lsn.parse("0/3000000")));
    }

    private static PipelineState state(Optional<String> holder, Optional<Checkpoint> checkpoint, Optional<SlotInfo> slot) {
        return PipelineState.of("p", "backfill_p", holder, checkpoint, slot);
    }

    @Test
    void aCommandHoldingTheLockIsRunningWhateverTheCheckpointSays() {
        PipelineState state = state(Optional.of("'scry-backfill p (pid 12)'"), checkpoint(Phase.STREAMING), slot(true, "0/3000100"));

        assertThat(state.name()).isEqualTo("running");
        assertThat(state.running()).isTrue();
        assertThat(state.heldBy()).isEqualTo("'scry-backfill p (pid 12)'");
        assertThat(state.advice()).contains("slot backfill_p is streaming to walsender pid 4242");
    }

    @Test
    void aStreamingCheckpointWithItsSlotIsStoppedAndResumable() {
        PipelineState state = state(Optional.empty(), checkpoint(Phase.STREAMING), slot(false, "0/3000000"));

        assertThat(state.name()).isEqualTo("stopped");
        assertThat(state.resumable()).isTrue();
        assertThat(state.line()).isEqualTo("stopped: no daemon runs pipeline p; `resume` (or `cdc`) continues from checkpoint LSN 0/3000100");
    }

    @Test
    void aStreamingCheckpointWithoutItsSlotIsTornDown() {
        PipelineState state = state(Optional.empty(), checkpoint(Phase.STREAMING), Optional.empty());

        assertThat(state.name()).isEqualTo("torn down");
        assertThat(state.resumable()).isFalse();
        assertThat(state.advice()).contains("0/3000100 cannot be resumed", "`teardown --drop-metadata`", "`snapshot`");
    }

    @Test
    void aSlotConfirmedBeyondTheCheckpointCannotBeResumed() {
        PipelineState state = state(Optional.empty(), checkpoint(Phase.STREAMING), slot(false, "0/4000000"));

        assertThat(state.name()).isEqualTo("slot overtaken");
        assertThat(state.resumable()).isFalse();
    }

    @Test
    void anActiveSlotWithoutTheLockIsInUseElsewhere() {
        PipelineState state = state(Optional.empty(), checkpoint(Phase.STREAMING), slot(true, "0/3000100"));

        assertThat(state.name()).isEqualTo("slot in use elsewhere");
        assertThat(state.running()).isFalse();
        assertThat(state.advice()).contains("walsender pid 4242");
    }

    @Test
    void anInterruptedSnapshotIsResumableWithOrWithoutItsSlot() {
        assertThat(state(Optional.empty(), checkpoint(Phase.SNAPSHOT), slot(false, null)).advice()).contains("continues the copy");
        PipelineState slotGone = state(Optional.empty(), checkpoint(Phase.SNAPSHOT), Optional.empty());
        assertThat(slotGone.name()).isEqualTo("snapshot interrupted");
        assertThat(slotGone.resumable()).isTrue();
        assertThat(slotGone.advice()).contains("starts the copy over");
    }

    @Test
    void noCheckpointIsNotStarted() {
        PipelineState state = state(Optional.empty(), Optional.empty(), Optional.empty());

        assertThat(state.name()).isEqualTo("not started");
        assertThat(state.resumable()).isFalse();
        assertThat(state.advice()).contains("`snapshot`", "`cdc`");
    }
}
