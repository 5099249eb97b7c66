package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.app.verify.Verifier;
import dev.scry.backfill.checkpoint.TableRequests;
import dev.scry.backfill.model.TableId;

/**
 * {@code repair [--table T]}: finds what differs as {@code verify} does, then has the daemon read
 * exactly the differing rows again from the source, by chunks between watermarks (see
 * {@link dev.scry.backfill.source.Watermarks}): each key's row is applied at its chunk's
 * watermark unless the stream changed it since the chunk's read, so writers never wait and no
 * change is lost. A table whose key a transform changes (its shadow keys are not the source's) is
 * copied again whole the same way. Then the repaired keys are compared again: exit 0 when they are
 * equal, 3 when not. With no daemon running, streaming first catches up (as {@code resume
 * --exit-when-caught-up}), and the repair then runs through the stream in this process.
 */
final class Repair {

    private BackfillConfig config;
    private final CommandOutput out;
    private final int maxKeys;

    Repair(BackfillConfig config, CommandOutput out, int maxKeys) {
        this.config = config;
        this.out = out;
        this.maxKeys = maxKeys;
    }

    int run(String only) throws SQLException, InterruptedException {
        TableRequestClient client = new TableRequestClient(config, out);
        client.checkStreamServesTableRequests("repair");
        if (!client.daemonRuns()) {
            out.printf("no daemon runs pipeline %s: catching up first, so that only real differences are repaired%n", config.pipeline());
            new PipelineCommands(config, out).stream(PipelineCommands.Start.RESUME, true);
        }
        Map<TableId, Verifier.Comparison> found;
        Set<TableId> tables;
        try (Connection source = ConnectionFactory.open(config.source(), "source"); Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            config = TableMembership.of(config, source, shadow);
            tables = only == null ? Set.of() : Set.of(table(only));
            if (only != null && !config.tables().containsAll(tables)) {
                throw new dev.scry.backfill.error.SetupException("repair --table: " + only + " is not a table of pipeline " + config.pipeline()
                        + " " + config.tables() + "; name it schema-qualified, as `tables` resolves it");
            }
            found = new Verifier(config, maxKeys).notComparing(TableStatesReport.notCompared(config.pipeline(), shadow))
                    .compare(source, shadow, tables);
        }
        Map<TableId, List<List<String>>> repairs = new LinkedHashMap<>();
        List<Long> ids = new ArrayList<>();
        boolean unrepairable = false;
        for (Map.Entry<TableId, Verifier.Comparison> e : found.entrySet()) {
            Verifier.Comparison c = e.getValue();
            if (c.result().notCompared() != null) {
                out.printf("%s: %s; not repaired%n", e.getKey(), c.result().notCompared());
                continue;
            }
            if (!c.result().differs()) {
                continue;
            }
            TableId t = e.getKey();
            if (c.differingKeys().isEmpty()) {
                out.printf("%s: %s; not repairable row by row%n", t, c.result().problem());
                unrepairable = true;
            }
            else if (!c.sourceKeys() || c.differingKeys().get(0).isEmpty()) {
                out.printf("%s: %,d row(s) differ; %s, so it is copied again whole%n", t, c.differingKeys().size(),
                        c.differingKeys().get(0).isEmpty() ? "it has no key" : "a transform changes its key");
                ids.add(client.submit(TableRequests.Action.RESNAPSHOT, t, null));
            }
            else {
                out.printf("%s: %,d row(s) differ; reading them again from the source%n", t, c.differingKeys().size());
                repairs.put(t, c.differingKeys());
                ids.add(client.submit(TableRequests.Action.REPAIR, t, c.differingKeys()));
            }
        }
        if (ids.isEmpty()) {
            out.printf("%s%n", unrepairable ? "nothing repairable differs" : "nothing differs: every compared table is equal");
            return unrepairable ? Main.DIFFERENT : Main.OK;
        }
        boolean failed = false;
        for (TableRequests.Request r : client.serve(ids)) {
            failed |= client.report(r) != Main.OK;
        }
        boolean equal = !failed && !unrepairable;
        try (Connection source = ConnectionFactory.open(config.source(), "source"); Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            for (Map.Entry<TableId, Verifier.Comparison> e : new Verifier(config, maxKeys).recheck(source, shadow, repairs).entrySet()) {
                Verifier.Comparison c = e.getValue();
                if (c.differingKeys().isEmpty()) {
                    out.printf("%s: the %,d repaired row(s) are equal on both sides now%n", e.getKey(), repairs.get(e.getKey()).size());
                }
                else {
                    equal = false;
                    out.printf("%s: %,d of the repaired row(s) still differ%s%n", e.getKey(), c.differingKeys().size(),
                            c.result().movingTarget() ? " (they kept changing on the source while compared: run repair again)" : "");
                }
            }
        }
        out.printf("%s%n", equal ? "repaired: equal" : "NOT repaired completely");
        return equal ? Main.OK : Main.DIFFERENT;
    }

    private static TableId table(String name) {
        try {
            return TableId.parse(name);
        }
        catch (IllegalArgumentException e) {
            throw new dev.scry.backfill.error.SetupException("repair --table: " + e.getMessage(), e);
        }
    }
}
