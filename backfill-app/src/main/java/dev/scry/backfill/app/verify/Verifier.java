package dev.scry.backfill.app.verify;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourcePreflight;

/**
 * {@code verify}: compares every configured table on source and shadow (see {@link TableDigest}).
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
    private static final long CATCH_UP_WAIT_MILLIS = 30_000;

    private BackfillConfig config;
    private final int maxKeys;

    public Verifier(BackfillConfig config, int maxKeys) {
        this.config = config;
        this.maxKeys = maxKeys;
    }

    public VerifyReport run(Connection source, Connection shadow) throws SQLException, InterruptedException {
        if (config.hasPatterns()) {
            config = config.withTables(new dev.scry.backfill.source.SourceCatalog(source).resolve(config.selectors()));
        }
        Map<TableId, TableSpec> specs = new SourcePreflight(source, config.source().describe()).describeTables(config.tables());
        SourceAdmin admin = new SourceAdmin(source);
        boolean live = admin.slot(config.slot()).map(s -> s.active()).orElse(false);
        List<VerifyReport.Table> results = new ArrayList<>();
        java.util.Set<dev.scry.backfill.model.TableId> transformed;
        try {
            transformed = dev.scry.backfill.transform.TransformChain.create(config.transforms(), List.copyOf(specs.values()))
                    .transformedTables();
        }
        catch (IllegalArgumentException e) {
            throw new dev.scry.backfill.error.SetupException(e.getMessage(), e);
        }
        for (TableSpec spec : specs.values()) {
            if (transformed.contains(spec.id())) {
                results.add(new VerifyReport.Table(spec.id().toString(), -1, -1, List.of(), null, true));
                continue;
            }
            VerifyReport.Table result = compare(source, shadow, spec);
            if (result.differs() && live && result.shadowRows() >= 0) {
                result = settle(source, shadow, admin, spec);
            }
            results.add(result);
        }
        return new VerifyReport(results, live);
    }

    /**
     * Compares a table that differed while the daemon streams, with the shadow read between two
     * reads of the source (see the class comment), until the source holds still for one round.
     */
    private VerifyReport.Table settle(Connection source, Connection shadow, SourceAdmin admin, TableSpec spec)
            throws SQLException, InterruptedException {
        TableDigest digest = digest(spec);
        for (int round = 1; round < ROUNDS; round++) {
            TableDigest.Sum before = digest.total(source);
            // A logical-decoding message (no table is written) that the daemon's stream carries: once the
            // shadow's checkpoint passes it, the shadow holds every change committed before it.
            waitForShadow(shadow, admin.emitMarker("verify:" + config.pipeline()));
            TableDigest.Sum shadowSum = digest.total(shadow);
            TableDigest.Sum after = digest.total(source);
            if (before.equals(after)) {
                return shadowSum.equals(after)
                        ? new VerifyReport.Table(spec.id().toString(), after.rows(), shadowSum.rows(), List.of(), null)
                        : compare(source, shadow, spec);
            }
        }
        VerifyReport.Table last = compare(source, shadow, spec);
        return last.differs() ? last.asMovingTarget() : last;
    }

    private static TableDigest digest(TableSpec spec) {
        return new TableDigest(spec.id(), spec.columns().stream().map(ColumnSpec::name).toList(), spec.primaryKey());
    }

    private VerifyReport.Table compare(Connection source, Connection shadow, TableSpec spec) throws SQLException {
        TableDigest digest = digest(spec);
        TableDigest.Sum src = digest.total(source);
        TableDigest.Sum shd;
        try {
            shd = digest.total(shadow);
        }
        catch (SQLException e) {
            return new VerifyReport.Table(spec.id().toString(), src.rows(), -1, List.of(),
                    "the shadow table cannot be read with the source's columns: " + e.getMessage().split("\n")[0]);
        }
        if (src.equals(shd)) {
            return new VerifyReport.Table(spec.id().toString(), src.rows(), shd.rows(), List.of(), null);
        }
        Map<Integer, TableDigest.Sum> a = digest.buckets(source);
        Map<Integer, TableDigest.Sum> b = digest.buckets(shadow);
        Set<Integer> all = new TreeSet<>(a.keySet());
        all.addAll(b.keySet());
        List<Integer> differing = new ArrayList<>();
        for (Integer bucket : all) {
            if (!java.util.Objects.equals(a.get(bucket), b.get(bucket))) {
                differing.add(bucket);
            }
        }
        Map<String, String> srcRows = digest.rows(source, differing);
        Map<String, String> shdRows = digest.rows(shadow, differing);
        List<VerifyReport.Difference> differences = new ArrayList<>();
        Set<String> keys = new TreeSet<>(srcRows.keySet());
        keys.addAll(shdRows.keySet());
        String keyNames = spec.hasPrimaryKey() ? "(" + String.join(", ", spec.primaryKey()) + ")=" : "row ";
        for (String key : keys) {
            String s = srcRows.get(key);
            String h = shdRows.get(key);
            String kind = s == null ? "extra" : h == null ? "missing" : s.equals(h) ? null : "changed";
            if (kind != null && differences.size() < maxKeys) {
                differences.add(new VerifyReport.Difference(keyNames + key, kind));
            }
        }
        return new VerifyReport.Table(spec.id().toString(), src.rows(), shd.rows(), differences,
                differences.isEmpty() ? "contents differ" : null);
    }

    /** Waits (bounded) until the shadow's checkpoint covers {@code lsn}. */
    private void waitForShadow(Connection shadow, Lsn lsn) throws SQLException, InterruptedException {
        long deadline = System.currentTimeMillis() + CATCH_UP_WAIT_MILLIS;
        CheckpointStore checkpoints = new CheckpointStore(config.pipeline());
        while (System.currentTimeMillis() < deadline) {
            Optional<Lsn> at = checkpoints.read(shadow).map(cp -> cp.lsn());
            if (at.isPresent() && at.get().compareTo(lsn) >= 0) {
                return;
            }
            Thread.sleep(100);
        }
    }
}
