package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.error.ReplicaIdentityFailure;
import dev.scry.backfill.source.SourcePreflight;

/**
 * What to do when the stream stopped at a change it cannot apply because of the table's replica
 * identity: the statements that fix the identity on the source (as the source's catalog has it
 * now), then the exact commands that copy the table again and continue.
 */
final class IdentityAdvice {

    private IdentityAdvice() {
    }

    static String of(BackfillConfig config, ReplicaIdentityFailure failure) {
        String fixes;
        try (Connection source = ConnectionFactory.open(config.source(), "source")) {
            List<String> statements = new SourcePreflight(source, config.source().describe()).identityFixes(failure.table());
            fixes = statements.isEmpty() ? "its replica identity on the source is usable now; "
                    : "run on the source: " + String.join(" ", statements) + " Then ";
        }
        catch (SQLException | RuntimeException e) {
            fixes = "make sure it has a primary key or REPLICA IDENTITY FULL on the source (and on each partition); then ";
        }
        String file = shellWord(config.file());
        return failure.getMessage() + ". The checkpoint is before this change, so nothing is lost, but the stream cannot go past"
                + " it, nor apply later changes made the same way. To continue, " + fixes + "copy the table again and resume: "
                + "scripts/backfill table resnapshot " + shellWord(failure.table().toString()) + " -c " + file
                + " && scripts/backfill resume -c " + file + " (the table's changes made before the copy are skipped, every"
                + " other table's are applied)";
    }

    /** The text as one shell word: plain where the shell would not split or expand it, single-quoted otherwise. */
    static String shellWord(String text) {
        return text.matches("[A-Za-z0-9_./=:,+-]+") ? text : "'" + text.replace("'", "'\\''") + "'";
    }
}
