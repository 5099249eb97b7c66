package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.Checkpoint;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.source.SlotInfo;
import dev.scry.backfill.source.SourceAdmin;

/**
 * Decides what a snapshot has to do given what the shadow's checkpoint says, and prepares it.
 *
 * <p>A snapshot is consistent with its slot because it reads under the snapshot the slot exported
 * when it was created, and that exported snapshot dies with the process. An interrupted copy
 * snapshot continues from its journal when it can ({@link Decision#CONTINUE}, see
 * {@link CopySnapshot#continueRun}); otherwise, and always for Debezium's snapshot, it is started
 * over under a new slot, on emptied shadow tables. That is safe because nothing has been streamed
 * from the old slot yet.
 */
public final class SnapshotPlan {

    /** What the checkpoint says about the snapshot. */
    public enum Decision {
        /** No checkpoint: copy from scratch. */
        FRESH,
        /** A snapshot began and did not finish: start it over. */
        RESTART,
        /** A copy snapshot began and did not finish, and can continue where it stopped. */
        CONTINUE,
        /** The snapshot finished; nothing to copy. */
        COMPLETE,
        /** The pipeline streams without ever having taken a snapshot. */
        STREAMING_WITHOUT_SNAPSHOT
    }

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotPlan.class);

    private SnapshotPlan() {
    }

    public static Decision decide(Optional<Checkpoint> checkpoint) {
        if (checkpoint.isEmpty()) {
            return Decision.FRESH;
        }
        Checkpoint cp = checkpoint.get();
        if (cp.phase() == Phase.SNAPSHOT) {
            return Decision.RESTART;
        }
        return cp.snapshotCompleted() ? Decision.COMPLETE : Decision.STREAMING_WITHOUT_SNAPSHOT;
    }

    /**
     * Refuses, before anything is written, a snapshot that cannot start: a slot another process is
     * using, a fresh snapshot under a slot this pipeline does not own, or into shadow tables that
     * already hold rows (they would keep rows the source no longer has).
     */
    public static void check(Decision decision, String pipeline, String slot, List<TableId> tables,
                             Connection source, Connection shadow) throws SQLException {
        Optional<SlotInfo> existing = new SourceAdmin(source).idleSlot(slot, pipeline);
        if (decision == Decision.FRESH) {
            if (existing.isPresent()) {
                throw new SetupException("replication slot " + slot + " already exists on the source but pipeline " + pipeline
                        + " has no checkpoint on the shadow; if the slot is left over from this pipeline run `teardown`,"
                        + " otherwise set `slot:` to another name");
            }
            List<TableId> filled = new java.util.ArrayList<>();
            for (TableId table : tables) {
                if (hasRows(shadow, table)) {
                    filled.add(table);
                }
            }
            if (!filled.isEmpty()) {
                // Every such table in one message, so that one fix clears them all.
                String names = filled.stream().map(TableId::toString).collect(java.util.stream.Collectors.joining(", "));
                String truncate = filled.stream().map(TableId::quoted).collect(java.util.stream.Collectors.joining(", "));
                throw new SetupException(filled.size() == 1
                        ? "shadow table " + names + " already holds rows; a snapshot into it would keep rows the source no longer"
                                + " has. Empty it (TRUNCATE " + truncate + ") or drop it, then run again"
                        : filled.size() + " shadow tables already hold rows: " + names + "; a snapshot into them would keep rows"
                                + " the source no longer has. Empty them (TRUNCATE " + truncate + ") or drop them, then run again");
            }
        }
    }

    /**
     * Gets source and shadow ready for a checked snapshot: for a restart, drops the old slot and
     * empties the shadow tables. Then records in the shadow that a snapshot is under way, which is
     * what marks the slot the engine is about to create as this pipeline's.
     */
    public static void prepare(Decision decision, String slot, List<TableId> tables,
                               Connection source, Connection shadow, CheckpointStore checkpoints) throws SQLException {
        if (decision == Decision.CONTINUE) {
            // Everything the copy needs is where it left it: the slot, the journal, the rows copied.
            return;
        }
        if (decision != Decision.FRESH && decision != Decision.RESTART) {
            throw new IllegalArgumentException("nothing to prepare for " + decision);
        }
        if (decision == Decision.RESTART && new SourceAdmin(source).dropSlot(slot)) {
            LOG.info("dropped replication slot {} of the interrupted snapshot", slot);
        }
        boolean auto = shadow.getAutoCommit();
        shadow.setAutoCommit(false);
        try {
            if (decision == Decision.RESTART) {
                // In one statement: foreign keys between the tables, built by the interrupted
                // load, refuse a TRUNCATE of one without the others.
                List<String> existing = new java.util.ArrayList<>();
                for (TableId table : tables) {
                    if (exists(shadow, table)) {
                        existing.add(table.quoted());
                    }
                }
                if (!existing.isEmpty()) {
                    try (var st = shadow.createStatement()) {
                        st.execute("TRUNCATE " + String.join(", ", existing));
                    }
                }
            }
            checkpoints.resetForNewSnapshot(shadow, slot, tables);
            dev.scry.backfill.checkpoint.SnapshotJournal journal = new dev.scry.backfill.checkpoint.SnapshotJournal(checkpoints.pipeline());
            // Workers still copying for the interrupted snapshot find neither its export nor their parts: their commits are refused.
            new dev.scry.backfill.checkpoint.SnapshotClaims(checkpoints.pipeline()).unpublish(shadow);
            journal.clear(shadow);
            shadow.commit();
        }
        catch (SQLException | RuntimeException e) {
            shadow.rollback();
            throw e;
        }
        finally {
            shadow.setAutoCommit(auto);
        }
    }

    private static boolean exists(Connection c, TableId table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?""")) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static boolean hasRows(Connection c, TableId table) throws SQLException {
        if (!exists(c, table)) {
            return false;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM " + table.quoted() + ")");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
