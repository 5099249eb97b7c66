package dev.scry.backfill.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.schema.SchemaDrift;
import dev.scry.backfill.sink.schema.SchemaScope;
import dev.scry.backfill.sink.schema.SchemaSync;
import dev.scry.backfill.snapshot.TransformShaping;
import dev.scry.backfill.transform.TransformChain;

/**
 * {@code verify --schema}: the configured tables' schema on both sides, object by object (what
 * {@code snapshot} would create from the source's catalog, read from each), and what is missing,
 * extra or different on the shadow. Reads only.
 */
final class SchemaVerify {

    private SchemaVerify() {
    }

    /** The schema sync of the configuration's scope, as the pipeline's start builds it. */
    static SchemaSync sync(BackfillConfig config, Connection source) throws SQLException {
        BackfillConfig resolved = ResolvedTables.of(config, source);
        Map<TableId, TableSpec> specs = dev.scry.backfill.source.ChangeSources.choose(resolved.streamSettings(), java.util.Optional.empty())
                .preflight(source, resolved.source().describe())
                .check(resolved.tables(), TransformChain.dropsColumn(resolved.transforms()));
        TransformChain chain;
        try {
            chain = TransformChain.create(resolved.transforms(), List.copyOf(specs.values()));
        }
        catch (IllegalArgumentException e) {
            throw new SetupException(e.getMessage(), e);
        }
        return new SchemaSync(new SchemaScope(List.copyOf(specs.keySet()), resolved.wholeSchemas(Preflight.schemas(source)),
                new TransformShaping(chain, specs.values()), resolved.schema()));
    }

    static SchemaDrift.Report run(BackfillConfig config, Connection source, Connection shadow) throws SQLException {
        SchemaSync sync = sync(config, source);
        return SchemaDrift.compare(sync.read(source), sync.read(shadow), config.schema());
    }

    static void print(CommandOutput out, String pipeline, SchemaDrift.Report report) {
        if (report.equal()) {
            out.printf("schema of pipeline %s: source and shadow are equal%n", pipeline);
            return;
        }
        out.printf("schema of pipeline %s: %d object(s) differ%n", pipeline, report.differences().size());
        for (SchemaDrift.Difference d : report.differences()) {
            out.printf("  %-9s %s%n", d.kind().name().toLowerCase(java.util.Locale.ROOT), d.key());
            if (d.source() != null) {
                out.printf("      source: %s%n", oneLine(d.source()));
            }
            if (d.shadow() != null) {
                out.printf("      shadow: %s%n", oneLine(d.shadow()));
            }
        }
    }

    static Map<String, Object> document(SchemaDrift.Report report) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("equal", report.equal());
        List<Map<String, Object>> list = new ArrayList<>();
        for (SchemaDrift.Difference d : report.differences()) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("difference", d.kind().name().toLowerCase(java.util.Locale.ROOT));
            one.put("kind", d.objectKind().label());
            one.put("object", d.key());
            one.put("source", d.source());
            one.put("shadow", d.shadow());
            list.add(one);
        }
        doc.put("differences", list);
        return doc;
    }

    private static String oneLine(String sql) {
        String flat = sql.replaceAll("\\s+", " ").strip();
        return flat.length() > 300 ? flat.substring(0, 300) + "..." : flat;
    }
}
