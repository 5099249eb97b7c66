package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.model.ConnectionFactory;
import dev.scry.backfill.source.FailoverReadiness;
import dev.scry.backfill.source.SlotCreation;
import dev.scry.backfill.source.SlotInfo;
import dev.scry.backfill.source.SourceAdmin;

/** The slot step: the replication slot a streaming command starts from, and what a failover of the source would cost. */
final class SlotStep {

    private static final Logger LOG = LoggerFactory.getLogger(SlotStep.class);
    private static final long RELEASE_WAIT_NANOS = 60_000_000_000L;

    private SlotStep() {
    }

    /**
     * The pipeline's slot when it exists and no other process streams from it, made a failover
     * slot where it should be one; a standby that just took over first waits for the dead
     * instance's walsender to let go of it.
     */
    static Optional<SlotInfo> prepare(PipelineContext run) throws SQLException, InterruptedException {
        SourceAdmin admin = new SourceAdmin(run.source);
        if (run.config.standby()) {
            awaitSlotReleased(run, admin);
        }
        Optional<SlotInfo> slot = admin.idleSlot(run.config.slot(), run.config.pipeline());
        if (slot.isPresent()) {
            makeFailoverSlot(run, admin, slot.get());
        }
        return slot;
    }

    /** One line at start: whether a failover of the source would cost a new snapshot (see {@link FailoverReadiness}). */
    static void sayWhatAFailoverCosts(PipelineContext run) throws SQLException {
        Optional<SlotInfo> slot = new SourceAdmin(run.source).slot(run.config.slot());
        FailoverReadiness readiness = FailoverReadiness.assess(run.source, slot, run.config.slotCreation(), run.config.tables(),
                run.config.source().primaryOfSeveral());
        if (readiness.ready()) {
            LOG.info("pipeline {}: {}", run.config.pipeline(), readiness.summary());
        }
        else {
            LOG.warn("pipeline {}: {}", run.config.pipeline(), readiness.summary());
        }
    }

    /**
     * A standby that just took over: the dead instance's walsender can hold the slot for a moment
     * after its client is gone. Waits (bounded) for it to let go.
     */
    private static void awaitSlotReleased(PipelineContext run, SourceAdmin admin) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + RELEASE_WAIT_NANOS;
        while (System.nanoTime() < deadline && admin.slot(run.config.slot()).map(SlotInfo::active).orElse(false)) {
            Thread.sleep(200);
        }
    }

    /**
     * An existing slot becomes a failover slot where it should be one (see {@link SlotCreation#upgrade}):
     * a slot created by an older version, or before the source was upgraded to PostgreSQL 17.
     */
    private static void makeFailoverSlot(PipelineContext run, SourceAdmin admin, SlotInfo slot) throws SQLException {
        if (slot.failover() || !run.config.slotCreation().failoverOn(admin.server())) {
            return;
        }
        try (Connection replication = ConnectionFactory.openReplication(run.config.source(), "source", "scry-backfill source")) {
            run.config.slotCreation().upgrade(replication, admin.server(), run.config.slot(), false);
        }
    }
}
