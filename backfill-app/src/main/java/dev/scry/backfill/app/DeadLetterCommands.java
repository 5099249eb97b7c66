package dev.scry.backfill.app;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.checkpoint.DeadLetters;
import dev.scry.backfill.sink.DeadLetterCodec;
import dev.scry.backfill.sink.DeadLetterReplay;
import dev.scry.backfill.sink.ReplicaRole;

/** {@code dlq list|show|replay|purge}: the dead letters of a pipeline (errors.tolerance: all). */
final class DeadLetterCommands {

    private final BackfillConfig config;
    private final PrintWriter out;

    DeadLetterCommands(BackfillConfig config, PrintWriter out) {
        this.config = config;
        this.out = out;
    }

    int list() throws SQLException {
        try (Connection c = Connect.open(config.shadow(), "shadow")) {
            List<DeadLetters.Letter> letters = new DeadLetters(config.pipeline()).list(c);
            out.printf("%d dead letter(s) for pipeline %s%n", letters.size(), config.pipeline());
            for (DeadLetters.Letter l : letters) {
                out.printf("%6d  %s  %-8s %-30s lsn %s  flexbuffers %d B (json %d B)  %s%n", l.id(), l.createdAt(), l.op(), l.table(), l.lsn(),
                        l.change().length, DeadLetterCodec.json(DeadLetterCodec.decode(l.change())).length(), l.error());
            }
            return 0;
        }
    }

    int show(long id) throws SQLException {
        try (Connection c = Connect.open(config.shadow(), "shadow")) {
            DeadLetters.Letter l = find(c, id);
            ChangeEvent change = DeadLetterCodec.decode(l.change());
            String json = DeadLetterCodec.json(change);
            out.printf("dead letter %d: %s on %s at lsn %s, stored %s%nerror: %s%nsize: %d bytes as FlexBuffers, %d bytes as JSON (%.0f%%)%n%s%n",
                    l.id(), l.op(), l.table(), l.lsn(), l.createdAt(), l.error(), l.change().length, json.length(),
                    100.0 * l.change().length / json.length(), json);
            return 0;
        }
    }

    /** Replays one letter, or all in order; exit 1 when some are still rejected. */
    int replay(Long id) throws SQLException {
        ConnectionSettings shadow;
        try (Connection probe = Connect.open(config.shadow(), "shadow")) {
            // A replayed change is one the stream missed: applied like the stream's, triggers and foreign keys quiet.
            shadow = ReplicaRole.apply(config.shadow(), probe, false);
        }
        try (Connection c = Connect.open(shadow, "shadow")) {
            DeadLetters letters = new DeadLetters(config.pipeline());
            List<DeadLetters.Letter> todo = id == null ? letters.list(c) : List.of(find(c, id));
            DeadLetterReplay replay = new DeadLetterReplay(config.pipeline());
            int failed = 0;
            for (DeadLetters.Letter l : todo) {
                String why = replay.replay(c, l);
                if (why == null) {
                    out.printf("replayed %d (%s on %s)%n", l.id(), l.op(), l.table());
                }
                else {
                    failed++;
                    out.printf("still rejected %d (%s on %s): %s%n", l.id(), l.op(), l.table(), why);
                }
            }
            out.printf("%d replayed, %d still rejected%n", todo.size() - failed, failed);
            return failed == 0 ? 0 : 1;
        }
    }

    int purge() throws SQLException {
        try (Connection c = Connect.open(config.shadow(), "shadow")) {
            if (!dev.scry.backfill.checkpoint.MetadataSchema.exists(c)) {
                out.println("0 dead letter(s) removed");
                return 0;
            }
            out.printf("%d dead letter(s) removed%n", new DeadLetters(config.pipeline()).purge(c));
            return 0;
        }
    }

    private DeadLetters.Letter find(Connection c, long id) throws SQLException {
        return new DeadLetters(config.pipeline()).get(c, id).orElseThrow(() -> new SetupException("pipeline " + config.pipeline()
                + " has no dead letter " + id + "; `dlq list` shows them"));
    }
}
