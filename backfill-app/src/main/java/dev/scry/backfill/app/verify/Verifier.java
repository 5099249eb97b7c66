package dev.scry.backfill.app.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourcePreflight;
import dev.scry.backfill.transform.TableForm;
import dev.scry.backfill.transform.TransformChain;

/**
 * {@code verify}: compares every configured table on source and shadow (see {@link Side}). A
 * transformed table is compared through its transforms: the source side computes what the shadow
 * should hold, in SQL where the transforms have SQL forms the source can compute, otherwise by
 * the pipeline's own transforms in this process ({@link TableForm}); a table touched by a custom
 * transform without a source-side form is reported as not comparable.
 *
 * <p>While {@code cdc} runs, the shadow trails the source by the changes in flight. A table that
 * differs is compared again with the shadow's read between two reads of the source table: the
 * source is read, a marker message is written to its WAL, the shadow is read once its checkpoint
 * has passed the marker, and the source is read again. When both source reads agree, the table
 * did not change meanwhile and the shadow held every change committed before the marker, so a
 * difference left is a real one. When they disagree the table is being written; after a few such
 * rounds the table is reported as a moving target. The source's WAL position is no sign of either:
 * the markers themselves move it.
 */
public final class Verifier {

    private static final int ROUNDS = 4;
    private BackfillConfig config;
    private long catchUpWaitMillis = 30_000;
    private final int maxKeys;
    private Map<TableId, String> notCompared = Map.of();

    public Verifier(BackfillConfig config, int maxKeys) {
        this.config = config;
        this.maxKeys = maxKeys;
    }

    /** How long a comparison waits for a running pipeline to apply what the source committed before it (default 30 s). */
    public Verifier catchUpWait(java.time.Duration wait) {
        this.catchUpWaitMillis = wait.toMillis();
        return this;
    }

    /** Tables reported with a reason instead of compared (paused, being copied). */
    public Verifier notComparing(Map<TableId, String> reasons) {
        this.notCompared = Map.copyOf(reasons);
        return this;
    }

    /**
     * One table's result, and every key that differs (the report lists at most {@code maxKeys}),
     * each as its key columns' text on the shadow; {@code sourceKeys} says whether that is also
     * the source's (no transform changes a key column), so that the keys can be read again there.
     */
    public record Comparison(VerifyReport.Table result, List<List<String>> differingKeys, boolean sourceKeys) {
        Comparison(VerifyReport.Table result, List<List<String>> differingKeys) {
            this(result, differingKeys, true);
        }
    }

    public VerifyReport run(Connection source, Connection shadow) throws SQLException, InterruptedException {
        return new VerifyReport(compareAll(source, shadow).values().stream().map(Comparison::result).toList(), live(source));
    }

    /** Compares each configured table (or only {@code only}, when not empty). */
    public Map<TableId, Comparison> compareAll(Connection source, Connection shadow) throws SQLException, InterruptedException {
        return compare(source, shadow, Set.of());
    }

    public Map<TableId, Comparison> compare(Connection source, Connection shadow, Set<TableId> only)
            throws SQLException, InterruptedException {
        Context context = context(source, shadow);
        Map<TableId, Comparison> results = new LinkedHashMap<>();
        for (TableSpec spec : context.specs().values()) {
            if (!only.isEmpty() && !only.contains(spec.id())) {
                continue;
            }
            if (notCompared.containsKey(spec.id())) {
                results.put(spec.id(), new Comparison(VerifyReport.Table.skipped(spec.id().toString(), notCompared.get(spec.id())), List.of()));
                continue;
            }
            Pair pair = sides(source, shadow, spec, context.chain(), context.sql().forTable());
            if (pair.notComparable() != null) {
                results.put(spec.id(), new Comparison(VerifyReport.Table.skipped(spec.id().toString(), pair.notComparable()), List.of()));
                continue;
            }
            Comparison result = compare(pair, spec.id());
            if (result.result().differs() && context.live() && result.result().shadowRows() >= 0) {
                result = settle(context.admin(), shadow, pair, spec.id());
            }
            results.put(spec.id(), new Comparison(result.result(), result.differingKeys(), pair.sourceKeys()));
        }
        return results;
    }

    /**
     * Compares only the given keys of each table (after a repair), with the shadow read between
     * two reads of the source while cdc runs, as a differing table is (see the class comment).
     * The result lists every key that still differs.
     */
    public Map<TableId, Comparison> recheck(Connection source, Connection shadow, Map<TableId, List<List<String>>> keys)
            throws SQLException, InterruptedException {
        Context context = context(source, shadow);
        Map<TableId, Comparison> results = new LinkedHashMap<>();
        for (Map.Entry<TableId, List<List<String>>> e : keys.entrySet()) {
            TableSpec spec = context.specs().get(e.getKey());
            Pair pair = spec == null ? null : sides(source, shadow, spec, context.chain(), context.sql().forTable());
            if (pair == null || pair.notComparable() != null) {
                continue;
            }
            Set<String> texts = new java.util.HashSet<>();
            e.getValue().forEach(k -> texts.add(RowText.record(k)));
            Comparison result = null;
            for (int round = 1; round <= ROUNDS && result == null; round++) {
                Map<String, Side.Row> before = pair.source().rows(texts);
                if (context.live()) {
                    waitForShadow(shadow, context.admin().mark("verify:" + config.pipeline()).lsn());
                }
                Map<String, Side.Row> shd = pair.shadow().rows(texts);
                Map<String, Side.Row> after = context.live() ? pair.source().rows(texts) : before;
                if (before.equals(after) || round == ROUNDS) {
                    result = differences(pair, e.getKey(), after, shd, after.size(), shd.size(), null);
                    if (!before.equals(after)) {
                        result = new Comparison(result.result().asMovingTarget(), result.differingKeys(), pair.sourceKeys());
                    }
                }
            }
            results.put(e.getKey(), result);
        }
        return results;
    }

    /** What every comparison of one run shares. */
    private record Context(Map<TableId, TableSpec> specs, TransformChain chain, SourceSql sql, boolean live, SourceAdmin admin) {
    }

    private Context context(Connection source, Connection shadow) throws SQLException {
        sameSettings(source);
        sameSettings(shadow);
        Map<TableId, TableSpec> specs = new SourcePreflight(source, config.source().describe()).describeTables(config.tables());
        TransformChain chain;
        try {
            chain = TransformChain.create(config.transforms(), List.copyOf(specs.values()));
        }
        catch (IllegalArgumentException e) {
            throw new SetupException(e.getMessage(), e);
        }
        return new Context(specs, chain, SourceSql.of(source), live(source), new SourceAdmin(source));
    }

    private boolean live(Connection source) throws SQLException {
        return new SourceAdmin(source).slot(config.slot()).map(s -> s.active()).orElse(false);
    }

    /**
     * Both sides print rows alike: timestamptz in UTC (as the transforms read it), and the text
     * forms a server's configuration could otherwise make differ.
     */
    private static void sameSettings(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET TIME ZONE 'UTC'");
            st.execute("SET DateStyle = ISO");
            st.execute("SET IntervalStyle = postgres");
            st.execute("SET bytea_output = hex");
        }
    }

    /** The two sides of one table, or why it cannot be compared; {@code sourceKeys}: no transform changes its key. */
    private record Pair(Side source, Side shadow, List<String> keyNames, String method, String notComparable, boolean sourceKeys) {
        Pair(Side source, Side shadow, List<String> keyNames, String method, String notComparable) {
            this(source, shadow, keyNames, method, notComparable, true);
        }
    }

    private Pair sides(Connection source, Connection shadow, TableSpec spec, TransformChain chain, SourceSql sql) throws SQLException {
        TableSpec shaped = chain.shape(spec);
        List<String> names = shaped.columns().stream().map(ColumnSpec::name).toList();
        List<String> keys = shaped.primaryKey();
        Side shadowSide = new SqlSide(shadow, spec.id(), SqlSide.plain(names), SqlSide.plain(keys), List.of());
        TableForm form = chain.sourceForm(spec, sql);
        boolean sourceKeys = keys.stream().noneMatch(form.changed()::contains);
        Pair pair = switch (form.kind()) {
            case UNTRANSFORMED -> new Pair(new SqlSide(source, spec.id(), SqlSide.plain(names), SqlSide.plain(keys), List.of()),
                    shadowSide, keys, "sql", null);
            case SQL -> new Pair(new SqlSide(source, spec.id(), form.expressions(),
                    keys.stream().map(k -> form.expressions().get(names.indexOf(k))).toList(), sql.parameters()), shadowSide, keys,
                    "transforms in SQL on the source", null);
            case IN_PROCESS -> utf8(shadow)
                    ? new Pair(new InProcessSide(source, shadow, spec, chain, form.changed()), shadowSide, keys, "transforms in process", null)
                    : new Pair(null, null, keys, null, "not comparable: its transforms run in this process, which digests UTF-8 text,"
                            + " and the shadow database's encoding is not UTF8");
            case NOT_COMPARABLE -> new Pair(null, null, keys, null, "not comparable: " + String.join(", ", form.notComparable())
                    + (form.notComparable().size() == 1 ? " has" : " have") + " no source-side form (a custom transform declares one"
                    + " with Transform.sourceForm())");
        };
        return new Pair(pair.source(), pair.shadow(), pair.keyNames(), pair.method(), pair.notComparable(), sourceKeys);
    }

    private static boolean utf8(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery("SHOW server_encoding")) {
            rs.next();
            return rs.getString(1).equalsIgnoreCase("UTF8");
        }
    }

    /**
     * Compares a table that differed while the daemon streams, with the shadow read between two
     * reads of the source (see the class comment), until the source holds still for one round.
     */
    private Comparison settle(SourceAdmin admin, Connection shadow, Pair pair, TableId table) throws SQLException, InterruptedException {
        for (int round = 1; round < ROUNDS; round++) {
            Side.Sum before = pair.source().total();
            // A logical-decoding message (no table is written) that the daemon's stream carries: once the
            // shadow's checkpoint passes it, the shadow holds every change committed before it.
            // On a standby, its replay position: the daemon's heartbeats carry the checkpoint past it.
            boolean caughtUp = waitForShadow(shadow, admin.mark("verify:" + config.pipeline()).lsn());
            Side.Sum shadowSum = pair.shadow().total();
            Side.Sum after = pair.source().total();
            if (!caughtUp && !shadowSum.equals(after)) {
                // Comparing anyway would report changes still on their way as differences.
                Comparison behind = compare(pair, table);
                return behind.result().differs()
                        ? new Comparison(behind.result().behind("the running pipeline had not applied the source's changes up to"
                                + " the comparison within " + catchUpWaitMillis / 1000 + " s (it is catching up or retrying the shadow),"
                                + " so these may be changes on their way; run verify again once `status` shows it caught up"),
                                behind.differingKeys()) : behind;
            }
            if (before.equals(after)) {
                return shadowSum.equals(after)
                        ? new Comparison(VerifyReport.Table.equal(table.toString(), after.rows(), pair.method()), List.of())
                        : compare(pair, table);
            }
        }
        Comparison last = compare(pair, table);
        return last.result().differs() ? new Comparison(last.result().asMovingTarget(), last.differingKeys()) : last;
    }

    private Comparison compare(Pair pair, TableId table) throws SQLException {
        Side.Sum src = pair.source().total();
        Side.Sum shd;
        try {
            shd = pair.shadow().total();
        }
        catch (SQLException e) {
            return new Comparison(new VerifyReport.Table(table.toString(), src.rows(), -1, List.of(),
                    "the shadow table cannot be read with the source's columns: " + e.getMessage().split("\n")[0], null, false,
                    pair.method()), List.of());
        }
        if (src.equals(shd)) {
            return new Comparison(VerifyReport.Table.equal(table.toString(), src.rows(), pair.method()), List.of());
        }
        Map<Integer, Side.Sum> a = pair.source().buckets();
        Map<Integer, Side.Sum> b = pair.shadow().buckets();
        Set<Integer> all = new TreeSet<>(a.keySet());
        all.addAll(b.keySet());
        List<Integer> differing = new ArrayList<>();
        for (Integer bucket : all) {
            if (!java.util.Objects.equals(a.get(bucket), b.get(bucket))) {
                differing.add(bucket);
            }
        }
        return differences(pair, table, pair.source().rows(differing), pair.shadow().rows(differing), src.rows(), shd.rows(),
                "contents differ");
    }

    /** The keys whose rows differ; {@code unexplained} is the problem reported when the digests differed but no row does. */
    private Comparison differences(Pair pair, TableId table, Map<String, Side.Row> srcRows, Map<String, Side.Row> shdRows, long sourceRows,
                                   long shadowRows, String unexplained) {
        List<VerifyReport.Difference> differences = new ArrayList<>();
        List<List<String>> keys = new ArrayList<>();
        Set<String> texts = new TreeSet<>(srcRows.keySet());
        texts.addAll(shdRows.keySet());
        String keyNames = pair.keyNames().isEmpty() ? "row " : "(" + String.join(", ", pair.keyNames()) + ")=";
        for (String text : texts) {
            Side.Row s = srcRows.get(text);
            Side.Row h = shdRows.get(text);
            String kind = s == null ? "extra" : h == null ? "missing" : s.md5().equals(h.md5()) ? null : "changed";
            if (kind == null) {
                continue;
            }
            keys.add(s != null ? s.key() : h.key());
            if (differences.size() < maxKeys) {
                differences.add(new VerifyReport.Difference(keyNames + text, kind));
            }
        }
        return new Comparison(new VerifyReport.Table(table.toString(), sourceRows, shadowRows, differences,
                keys.isEmpty() ? unexplained : null, null, false, pair.method()),
                keys, pair.sourceKeys());
    }

    /** Waits (bounded) until the shadow's checkpoint covers {@code lsn}; false when it did not in time. */
    private boolean waitForShadow(Connection shadow, Lsn lsn) throws SQLException, InterruptedException {
        long deadline = System.currentTimeMillis() + catchUpWaitMillis;
        CheckpointStore checkpoints = new CheckpointStore(config.pipeline());
        while (System.currentTimeMillis() < deadline) {
            Optional<Lsn> at = checkpoints.read(shadow).map(cp -> cp.lsn());
            if (at.isPresent() && at.get().compareTo(lsn) >= 0) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }
}
