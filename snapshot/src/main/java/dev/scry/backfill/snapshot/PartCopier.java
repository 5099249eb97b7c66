package dev.scry.backfill.snapshot;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.checkpoint.SnapshotClaims;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.sink.ShadowWriter;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * Copies one claimed part and commits its rows with the part's completion in one shadow
 * transaction, fenced by the claim: the coordinating snapshot and the snapshot workers copy
 * parts through this one place.
 */
final class PartCopier {

    private static final Logger LOG = LoggerFactory.getLogger(PartCopier.class);

    /** How a part's copy ended. */
    enum Outcome {
        /** Rows and completion committed. */
        COPIED,
        /** Stopped on request part-way; nothing committed. */
        STOPPED,
        /** The claim expired before the rows committed; they were rolled back, another process copies the part. */
        LOST
    }

    private final SnapshotClaims shared;
    private final ShadowWriter writer;
    private final TransformChain chain;
    private final Throttle throttle;
    private final PartClaims claims;
    private final SnapshotProgress progress;

    PartCopier(String pipeline, TransformChain chain, Throttle throttle, PartClaims claims, SnapshotProgress progress) {
        this.shared = new SnapshotClaims(pipeline);
        this.writer = ShadowWriter.forLoads(pipeline);
        this.chain = chain;
        this.throttle = throttle;
        this.claims = claims;
        this.progress = progress;
    }

    /** Copies {@code part} from {@code src} (under the exported snapshot at {@code at}) into {@code dst}, under {@code claim}. */
    Outcome copy(Connection src, Connection dst, TableCopy.Part part, SnapshotClaims.Claim claim, Lsn at, BooleanSupplier stop)
            throws SQLException {
        try {
            TableCopy.Copied copied = TableCopy.copy(src, dst, writer, part, chain, throttle, () -> stop.getAsBoolean() || claims.lost(claim),
                    n -> progress.add(Map.of(part.table().id(), new TableCounts(n, 0, 0, 0, 0))));
            long rows = copied.rows();
            if (rows < 0) {
                dst.rollback();
                if (claims.lost(claim)) {
                    lost(dst, part, "part-way");
                    return Outcome.LOST;
                }
                claims.release(dst, claim);
                return Outcome.STOPPED;
            }
            writer.count(dst, Map.of(part.table().id(), new TableCounts(rows, 0, 0, 0, 0)));
            // The fence: only a claim still held commits; a late one rolls its rows back.
            if (!shared.copiedUnderClaim(dst, part.id(), claim.token(), at, rows)) {
                dst.rollback();
                lost(dst, part, "with its " + rows + " rows copied");
                return Outcome.LOST;
            }
            dst.commit();
            LOG.info("copied {} rows of {}{} (COPY in {})", rows, part.table().id(), part.describe(), copied.format());
            return Outcome.COPIED;
        }
        catch (SQLException | RuntimeException e) {
            dst.rollback();
            throw e;
        }
        finally {
            claims.finished(claim);
        }
    }

    private void lost(Connection dst, TableCopy.Part part, String when) throws SQLException {
        SnapshotClaims.Holders now = shared.holders(dst, part.id());
        dst.commit();
        String other = now.copiedBy() != null ? "; " + now.copiedBy() + " copied it"
                : now.claimedBy() != null ? "; " + now.claimedBy() + " holds it now" : "";
        LOG.warn("part {} of {}: the claim of {} expired {}; its commit is refused and its rows rolled back{}", part.id(),
                part.table().id(), claims.holder(), when, other);
    }
}
