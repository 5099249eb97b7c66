package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.checkpoint.DeadLetters;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.error.SqlErrors;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Phase;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableSpec;

/**
 * Re-applies a dead letter once its cause is fixed: the change as it was, through the same
 * statements the sink uses, and the letter deleted in the same transaction. The change is applied
 * as it was when it arrived; a row changed on the source since then is corrected by its own later
 * change only if that change came after it in the stream, so replay soon after fixing the cause,
 * and check with {@code verify}.
 */
public final class DeadLetterReplay {

    private final String pipeline;

    public DeadLetterReplay(String pipeline) {
        this.pipeline = pipeline;
    }

    /** Returns null when applied (and the letter deleted), else why the shadow still rejects it. */
    public String replay(Connection c, DeadLetters.Letter letter) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            ChangeEvent change = DeadLetterCodec.decode(letter.change());
            TableSpec spec = ShadowSchema.describe(c, change.table()).orElse(null);
            if (spec == null) {
                c.rollback();
                return "shadow table " + change.table() + " does not exist";
            }
            ShadowWriter writer = new PgShadowWriter(pipeline, Map.of(spec.id(), spec), SourceSchema.NONE, null);
            Map<dev.scry.backfill.model.TableId, TableCounts> counts = writer.apply(c,
                    new ChangeBatch(List.of(change), new SourcePosition(Phase.STREAMING, letter.lsn(), Map.of()), 1, false, List.of()), true);
            writer.count(c, counts);
            new DeadLetters(pipeline).delete(c, letter.id());
            c.commit();
            return null;
        }
        catch (SQLException e) {
            c.rollback();
            if (SqlErrors.isTransient(e)) {
                throw e;
            }
            return SqlErrors.describe(e);
        }
        catch (RuntimeException e) {
            c.rollback();
            return e.getMessage();
        }
        finally {
            c.setAutoCommit(auto);
        }
    }
}
