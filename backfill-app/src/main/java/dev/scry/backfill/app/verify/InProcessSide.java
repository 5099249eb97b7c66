package dev.scry.backfill.app.verify;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.Op;
import dev.scry.backfill.model.RowImage;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.transform.TransformChain;

/**
 * The source side of a table whose transforms the source cannot compute in SQL (a row filter, a
 * hash without pgcrypto, a custom transform): the source's rows are read here and put through the
 * pipeline's own transform chain, then digested as {@link SqlSide} digests in SQL (see
 * {@link RowText}). A transform's output text for a column the shadow does not hold as text (a
 * redacted number, a generalized date) is printed as the shadow prints that value: cast to the
 * shadow's type on the shadow, once per distinct value.
 */
final class InProcessSide implements Side {

    private static final int BLOCK = 2000;
    private static final int CACHE_LIMIT = 200_000;

    private final Connection source;
    private final Connection shadow;
    private final TableSpec table;
    private final TableSpec shaped;
    private final TransformChain chain;
    private final List<String> read;
    private final int[] key;
    private final Set<Integer> recast = new HashSet<>();
    private final Map<String, Map<String, String>> printed = new HashMap<>();
    private Map<Integer, Sum> lastBuckets;

    /** @param changed the columns whose values a transform rewrites */
    InProcessSide(Connection source, Connection shadow, TableSpec table, TransformChain chain, Set<String> changed) {
        this.source = source;
        this.shadow = shadow;
        this.table = table;
        this.chain = chain;
        this.shaped = chain.shape(table);
        Set<String> dropped = chain.droppedColumns(table.id());
        this.read = table.columns().stream().map(ColumnSpec::name).filter(n -> !dropped.contains(n)).toList();
        this.key = shaped.primaryKey().stream().mapToInt(shaped::columnIndex).toArray();
        for (int i = 0; i < shaped.columns().size(); i++) {
            ColumnSpec c = shaped.columns().get(i);
            if (changed.contains(c.name()) && !c.type().equals("text")) {
                recast.add(i);
            }
        }
    }

    @Override
    public Sum total() throws SQLException {
        long[] rows = new long[Side.BUCKETS];
        BigInteger[] sums = new BigInteger[Side.BUCKETS];
        scan((keyText, values, md5, bucket) -> {
            rows[bucket]++;
            sums[bucket] = sums[bucket] == null ? RowText.slice(md5) : sums[bucket].add(RowText.slice(md5));
        });
        Map<Integer, Sum> buckets = new HashMap<>();
        long count = 0;
        BigInteger total = BigInteger.ZERO;
        for (int b = 0; b < Side.BUCKETS; b++) {
            if (rows[b] > 0) {
                buckets.put(b, new Sum(rows[b], sums[b].toString()));
                count += rows[b];
                total = total.add(sums[b]);
            }
        }
        lastBuckets = buckets;
        return new Sum(count, total.toString());
    }

    @Override
    public Map<Integer, Sum> buckets() throws SQLException {
        if (lastBuckets == null) {
            total();
        }
        return lastBuckets;
    }

    @Override
    public Map<String, Row> rows(List<Integer> buckets) throws SQLException {
        Set<Integer> wanted = new HashSet<>(buckets);
        return rows((keyText, bucket) -> wanted.contains(bucket));
    }

    @Override
    public Map<String, Row> rows(Set<String> keys) throws SQLException {
        return rows((keyText, bucket) -> keys.contains(keyText));
    }

    private Map<String, Row> rows(java.util.function.BiPredicate<String, Integer> wanted) throws SQLException {
        Map<String, Row> out = new HashMap<>();
        scan((keyText, values, md5, bucket) -> {
            if (wanted.test(keyText, bucket)) {
                List<String> k = new ArrayList<>(key.length);
                for (int i : key) {
                    k.add(values[i]);
                }
                out.merge(keyText, new Row(k, md5), (a, b) -> new Row(a.key(), a.md5() + "+" + b.md5()));
            }
        });
        return out;
    }

    private interface RowConsumer {
        void accept(String keyText, String[] values, String md5, int bucket);
    }

    /** Reads the source table in a cursor, transforms each row, and hands the shadow's view of it to {@code consumer}. */
    private void scan(RowConsumer consumer) throws SQLException {
        String columns = String.join(", ", read.stream().map(c -> "CASE WHEN " + Identifiers.quote(c) + " IS NULL THEN NULL ELSE format('%s', "
                + Identifiers.quote(c) + ") END").toList());
        boolean auto = source.getAutoCommit();
        source.setAutoCommit(false);
        try (PreparedStatement ps = source.prepareStatement("SELECT " + columns + " FROM " + table.id().quoted())) {
            ps.setFetchSize(BLOCK);
            List<String[]> block = new ArrayList<>(BLOCK);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String[] values = new String[read.size()];
                    for (int i = 0; i < values.length; i++) {
                        values[i] = rs.getString(i + 1);
                    }
                    ChangeEvent out = chain.apply(new ChangeEvent(table.id(), Op.READ, null, new RowImage(read, values, null)));
                    if (out != null) {
                        block.add(inShadowOrder(out.after()));
                    }
                    if (block.size() == BLOCK) {
                        digest(block, consumer);
                    }
                }
            }
            digest(block, consumer);
        }
        finally {
            source.rollback();
            source.setAutoCommit(auto);
        }
    }

    private String[] inShadowOrder(RowImage row) {
        String[] values = new String[shaped.columns().size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = row.value(shaped.columns().get(i).name());
        }
        return values;
    }

    private void digest(List<String[]> block, RowConsumer consumer) throws SQLException {
        for (int column : recast) {
            String type = shaped.columns().get(column).type();
            Map<String, String> known = printed.computeIfAbsent(type, t -> new HashMap<>());
            Set<String> missing = new HashSet<>();
            for (String[] row : block) {
                if (row[column] != null && !known.containsKey(row[column])) {
                    missing.add(row[column]);
                }
            }
            if (known.size() + missing.size() > CACHE_LIMIT) {
                known.clear();
            }
            known.putAll(printedByShadow(type, missing));
            for (String[] row : block) {
                if (row[column] != null) {
                    row[column] = known.get(row[column]);
                }
            }
        }
        for (String[] row : block) {
            String text = RowText.record(Arrays.asList(row));
            String keyText = key.length == 0 ? text : RowText.record(Arrays.stream(key).mapToObj(i -> row[i]).toList());
            consumer.accept(keyText, row, RowText.md5(text), RowText.bucket(RowText.md5(keyText)));
        }
        block.clear();
    }

    /** Each text as the shadow prints it once cast to {@code type}, the way the sink stores it. */
    private Map<String, String> printedByShadow(String type, Set<String> values) throws SQLException {
        Map<String, String> out = new HashMap<>();
        if (values.isEmpty()) {
            return out;
        }
        List<String> in = new ArrayList<>(values);
        try (PreparedStatement ps = shadow.prepareStatement("SELECT format('%s', v::" + type + ") FROM unnest(?::text[]) WITH ORDINALITY"
                + " AS u(v, i) ORDER BY i")) {
            ps.setArray(1, shadow.createArrayOf("text", in.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                for (int i = 0; rs.next(); i++) {
                    out.put(in.get(i), rs.getString(1));
                }
            }
        }
        return out;
    }
}
