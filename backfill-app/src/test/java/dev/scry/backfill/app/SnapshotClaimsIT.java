package dev.scry.backfill.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.scry.backfill.checkpoint.MetadataSchema;
import dev.scry.backfill.checkpoint.SnapshotClaims;
import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.testing.Databases;
import dev.scry.backfill.testing.PgPair;

/**
 * The claim protocol of the snapshot journal on a real shadow, statement by statement: what
 * {@code SnapshotWorkersIT} relies on with whole processes. A part goes to one claimer at a time;
 * a claim that expired is neither renewed nor able to commit, even when nobody took its part; a
 * claim under a withdrawn export gets nothing; a part a continuation copies again fences its old
 * claim out.
 */
class SnapshotClaimsIT {

    private static final TableId T = new TableId("public", "t");
    private static final Lsn AT = Lsn.parse("0/1000");

    private Databases db;
    private SnapshotJournal journal;
    private SnapshotClaims shared;

    @BeforeEach
    void setUp() throws Exception {
        db = PgPair.get().newDatabases("claims_it");
        journal = new SnapshotJournal(db.name());
        shared = new SnapshotClaims(db.name());
        try (Connection c = db.shadow()) {
            MetadataSchema.ensure(c);
            c.setAutoCommit(false);
            journal.plan(c, List.of(part(1, 0L, 100L), part(2, 100L, 200L), part(3, 200L, null)));
            shared.publish(c, new SnapshotClaims.Export("export-a", AT, "test", 1_000));
            c.commit();
        }
    }

    @AfterEach
    void tearDown() {
        db.close();
    }

    @Test
    void aPartGoesToOneClaimerAndAnExpiredClaimCanNeitherBeRenewedNorCommit() throws Exception {
        try (Connection w1 = shadow(); Connection w2 = shadow(); Connection w3 = shadow()) {
            SnapshotClaims.Claim first = shared.claim(w1, "export-a", "w1", 1_000).orElseThrow();
            SnapshotClaims.Claim second = shared.claim(w2, "export-a", "w2", 60_000).orElseThrow();
            assertThat(first.part().id()).isEqualTo(1);
            assertThat(second.part().id()).as("a held part is skipped").isEqualTo(2);

            awaitExpired(1);
            SnapshotClaims.Claim taken = shared.claim(w3, "export-a", "w3", 60_000).orElseThrow();
            assertThat(taken.part().id()).as("an expired claim's part goes to the next claimer").isEqualTo(1);
            assertThat(taken.previousHolder()).isEqualTo("w1");
            assertThat(shared.renew(w1, Set.of(first.token()), 1_000)).as("an expired claim is not renewed").isEmpty();
            assertThat(shared.renew(w2, Set.of(second.token()), 60_000)).containsExactly(second.token());

            assertThat(shared.copiedUnderClaim(w1, 1, first.token(), AT, 100)).as("the late claimer's commit").isFalse();
            w1.rollback();
            assertThat(shared.copiedUnderClaim(w3, 1, taken.token(), AT, 100)).isTrue();
            w3.commit();
            assertThat(copiedBy(1)).isEqualTo("w3");
        }
    }

    @Test
    void anExpiredClaimCannotCommitEvenWhenNobodyTookItsPart() throws Exception {
        try (Connection w1 = shadow()) {
            SnapshotClaims.Claim claim = shared.claim(w1, "export-a", "w1", 1_000).orElseThrow();
            awaitExpired(claim.part().id());
            assertThat(shared.copiedUnderClaim(w1, claim.part().id(), claim.token(), AT, 100)).isFalse();
            w1.rollback();
            assertThat(copiedBy(claim.part().id())).isNull();
        }
    }

    @Test
    void noPartIsClaimedUnderAnExportThatIsNotTheCurrentOne() throws Exception {
        try (Connection w1 = shadow()) {
            assertThat(shared.claim(w1, "export-old", "w1", 60_000)).isEmpty();
            shared.unpublish(w1);
            w1.commit();
            assertThat(shared.claim(w1, "export-a", "w1", 60_000)).as("the export withdrawn").isEmpty();
        }
    }

    @Test
    void aTableCopiedAgainWholeFencesOutTheClaimsOnItsParts() throws Exception {
        try (Connection w1 = shadow(); Connection continuation = shadow()) {
            SnapshotClaims.Claim claim = shared.claim(w1, "export-a", "w1", 60_000).orElseThrow();
            continuation.setAutoCommit(false);
            journal.uncopied(continuation, T);
            continuation.commit();
            assertThat(shared.copiedUnderClaim(w1, claim.part().id(), claim.token(), AT, 100)).isFalse();
            w1.rollback();
        }
    }

    private Connection shadow() throws SQLException {
        Connection c = db.shadow();
        c.setAutoCommit(false);
        return c;
    }

    private static SnapshotJournal.Part part(int id, Long from, Long to) {
        return new SnapshotJournal.Part(id, T, SnapshotJournal.Kind.KEYS, from, to, "\"id\" int4", null, 0);
    }

    private void awaitExpired(int part) throws InterruptedException {
        Pipeline.await("the claim on part " + part + " expired", Duration.ofSeconds(10), Pipeline.sql(() ->
                query("SELECT claim_expires < clock_timestamp() FROM scry_backfill.snapshot_parts WHERE part = " + part).equals("t")));
    }

    private String copiedBy(int part) throws SQLException {
        return query("SELECT copied_by FROM scry_backfill.snapshot_parts WHERE copied_at IS NOT NULL AND part = " + part);
    }

    private String query(String sql) throws SQLException {
        try (Connection c = db.shadow(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

}
