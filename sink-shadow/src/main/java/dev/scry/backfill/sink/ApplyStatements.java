package dev.scry.backfill.sink;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.TableSpec;

/**
 * Builds the statements that apply rows to a shadow table; nothing else in the sink writes SQL
 * for user tables. Every statement takes one array parameter per column and unnests them,
 * so its text does not depend on how many rows it carries (the server plans it once per
 * connection) and a whole run of rows is one round trip. Values arrive as PostgreSQL text and are
 * cast to the column's declared type, which is how the shadow gets the source's exact values.
 */
final class ApplyStatements {

    /**
     * A statement and the columns whose arrays it binds, in parameter order, with each array's
     * element type ({@link #elementType}); {@code textSql} is the same statement with every array
     * bound as {@code text[]}, for rows whose values do not all parse as their array's type.
     */
    record Statement(String sql, int[] columns, String[] types, String textSql) {

        /** A statement that binds scalars or text arrays only. */
        Statement(String sql, int[] columns) {
            this(sql, columns, null, sql);
        }

        /** The type of the arrays bound for {@code columns[p]}: {@code text} unless {@link #elementType} says otherwise. */
        String type(int p) {
            return types == null ? "text" : types[p];
        }

        /** This statement with every array as text. */
        Statement asText() {
            return types == null ? this : new Statement(textSql, columns);
        }
    }

    /**
     * The element type of a column's arrays: the binary form of the integer types (where the
     * shadow column is {@code smallint}, {@code integer} or {@code bigint}), else {@code text} with
     * a cast to the column's type. The server reads an int8 in binary instead of a string it casts:
     * a 3,300-row UPDATE by key about 7% faster, and the key of every UPDATE and DELETE is such a
     * column more often than not.
     */
    static String elementType(ColumnSpec c) {
        return switch (c.type()) {
            case "bigint" -> "int8";
            case "integer" -> "int4";
            case "smallint" -> "int2";
            default -> "text";
        };
    }

    /** A statement built twice: with typed arrays where a column has a type for them, and with text arrays only. */
    private static Statement typedOrText(TableSpec spec, java.util.function.Function<Boolean, Statement> build) {
        Statement typed = build.apply(true);
        int[] columns = typed.columns();
        String[] types = new String[columns.length];
        boolean any = false;
        for (int p = 0; p < columns.length; p++) {
            types[p] = elementType(spec.columns().get(columns[p]));
            any |= !types[p].equals("text");
        }
        return any ? new Statement(typed.sql(), columns, types, build.apply(false).sql()) : build.apply(false);
    }

    // Keyed by the table's whole shape: a schema change gives its statements new text.
    private final Map<List<Object>, Statement> cache = new ConcurrentHashMap<>();

    /**
     * INSERT ... ON CONFLICT DO UPDATE for full rows: what a snapshot row, an insert and an update
     * with every column present all need.
     */
    Statement upsert(TableSpec spec) {
        return cache.computeIfAbsent(List.of("U", spec), k -> typedOrText(spec, typed -> {
            int[] all = allColumns(spec);
            StringBuilder sql = new StringBuilder("INSERT INTO ").append(spec.id().quoted()).append(" AS t (");
            appendNames(sql, spec, all, "");
            sql.append(") ").append(OVERRIDING).append(" SELECT ");
            appendCasts(sql, spec, all);
            sql.append(" FROM ");
            appendUnnest(sql, spec, all, typed);
            sql.append(" ON CONFLICT (");
            appendNames(sql, spec, keyColumns(spec), "");
            List<Integer> nonKey = nonKeyColumns(spec);
            List<Integer> settable = nonKey.stream().filter(i -> !spec.columns().get(i).generatedAlways()).toList();
            if (nonKey.isEmpty()) {
                sql.append(") DO NOTHING");
            }
            else {
                sql.append(") DO UPDATE SET ");
                if (settable.isEmpty()) {
                    // Only identity columns besides the key: touch the key so the row count still counts the row.
                    String k0 = Identifiers.quote(spec.columns().get(keyColumns(spec)[0]).name());
                    sql.append(k0).append(" = EXCLUDED.").append(k0);
                }
                for (int i = 0; i < settable.size(); i++) {
                    String name = Identifiers.quote(spec.columns().get(settable.get(i)).name());
                    sql.append(i == 0 ? "" : ", ").append(name).append(" = EXCLUDED.").append(name);
                }
                String unchanged = unchangedIdentity(spec, nonKey, "EXCLUDED.");
                if (!unchanged.isEmpty()) {
                    sql.append(" WHERE ").append(unchanged);
                }
            }
            return new Statement(sql.toString(), all);
        }));
    }

    /**
     * UPDATE of the present columns only, for rows where PostgreSQL left some values out
     * (unchanged TOASTed values): the shadow keeps what it has in those.
     */
    Statement partialUpdate(TableSpec spec, BitSet present) {
        return cache.computeIfAbsent(List.of("P", spec, present.clone()), k -> typedOrText(spec, typed -> {
            int[] key = keyColumns(spec);
            List<Integer> set = new ArrayList<>();
            List<Integer> always = new ArrayList<>();
            for (int i = present.nextSetBit(0); i >= 0; i = present.nextSetBit(i + 1)) {
                if (!spec.primaryKey().contains(spec.columns().get(i).name())) {
                    (spec.columns().get(i).generatedAlways() ? always : set).add(i);
                }
            }
            List<Integer> boundValues = new ArrayList<>(set);
            boundValues.addAll(always);
            int[] bound = concat(key, boundValues);
            StringBuilder sql = new StringBuilder("UPDATE ").append(spec.id().quoted()).append(" AS t SET ");
            if (set.isEmpty()) {
                // Nothing but the key arrived: touch the key so the row count still proves the row exists.
                String k0 = Identifiers.quote(spec.columns().get(key[0]).name());
                sql.append(k0).append(" = t.").append(k0);
            }
            for (int i = 0; i < set.size(); i++) {
                ColumnSpec c = spec.columns().get(set.get(i));
                sql.append(i == 0 ? "" : ", ").append(Identifiers.quote(c.name())).append(" = ").append(cast(c));
            }
            sql.append(" FROM ");
            appendUnnest(sql, spec, bound, typed);
            sql.append(" WHERE ");
            appendKeyMatch(sql, spec, key);
            for (int i : always) {
                ColumnSpec c = spec.columns().get(i);
                sql.append(" AND t.").append(Identifiers.quote(c.name())).append(" IS NOT DISTINCT FROM ").append(cast(c));
            }
            return new Statement(sql.toString(), bound);
        }));
    }

    /**
     * UPDATE of every column of rows found by key: for rows known to be on the shadow, where an
     * upsert would look for a conflict and lock the row first (see {@link #updatableByKey}).
     */
    Statement update(TableSpec spec) {
        BitSet all = new BitSet();
        all.set(0, spec.columns().size());
        return partialUpdate(spec, all);
    }

    /**
     * Whether {@link #update} writes a whole row: the table has columns besides its key and no
     * GENERATED ALWAYS identity column, which no UPDATE may write.
     */
    static boolean updatableByKey(TableSpec spec) {
        return spec.hasPrimaryKey() && !nonKeyColumns(spec).isEmpty() && spec.columns().stream().noneMatch(ColumnSpec::generatedAlways);
    }

    /**
     * An INSERT writes GENERATED ALWAYS identity columns only when it says so; with none it
     * changes nothing. (Native replication's apply writes them directly.)
     */
    private static final String OVERRIDING = "OVERRIDING SYSTEM VALUE";

    /**
     * No UPDATE may write a GENERATED ALWAYS identity column: the row is updated only where such a
     * column outside the key keeps its value, and the row count shows an update that changed one
     * (see {@link BatchApplier}). "" when the table has none.
     */
    private static String unchangedIdentity(TableSpec spec, List<Integer> nonKey, String newValues) {
        StringBuilder out = new StringBuilder();
        for (int i : nonKey) {
            ColumnSpec c = spec.columns().get(i);
            if (c.generatedAlways()) {
                String name = Identifiers.quote(c.name());
                out.append(out.length() == 0 ? "" : " AND ").append("t.").append(name).append(" IS NOT DISTINCT FROM ").append(newValues).append(name);
            }
        }
        return out.toString();
    }

    /** Whether an upsert of the table can leave a row unwritten (see {@link #unchangedIdentity}). */
    static boolean guardsIdentity(TableSpec spec) {
        return !unchangedIdentity(spec, nonKeyColumns(spec), "x.").isEmpty();
    }

    Statement delete(TableSpec spec) {
        return cache.computeIfAbsent(List.of("D", spec), k -> typedOrText(spec, typed -> {
            int[] key = keyColumns(spec);
            StringBuilder sql = new StringBuilder("DELETE FROM ").append(spec.id().quoted()).append(" AS t USING ");
            appendUnnest(sql, spec, key, typed);
            sql.append(" WHERE ");
            appendKeyMatch(sql, spec, key);
            return new Statement(sql.toString(), key);
        }));
    }

    /** Plain INSERT for a table without a key, where equal rows are distinct rows. */
    Statement insert(TableSpec spec) {
        return cache.computeIfAbsent(List.of("I", spec), k -> typedOrText(spec, typed -> {
            int[] all = allColumns(spec);
            StringBuilder sql = new StringBuilder("INSERT INTO ").append(spec.id().quoted()).append(" (");
            appendNames(sql, spec, all, "");
            sql.append(") ").append(OVERRIDING).append(" SELECT ");
            appendCasts(sql, spec, all);
            sql.append(" FROM ");
            appendUnnest(sql, spec, all, typed);
            return new Statement(sql.toString(), all);
        }));
    }

    /**
     * One row of a table: a ctid is unique only within one partition, and a partitioned shadow
     * table holds several.
     */
    private static final String ONE_ROW = "(tableoid, ctid)";

    /** Deletes one row equal to the old row image (one scalar text parameter per column). */
    Statement deleteOne(TableSpec spec) {
        return cache.computeIfAbsent(List.of("d", spec), k -> new Statement("DELETE FROM " + spec.id().quoted()
                + " WHERE " + ONE_ROW + " = (SELECT tableoid, ctid FROM " + spec.id().quoted() + " WHERE " + rowMatch(spec) + " LIMIT 1)",
                allColumns(spec)));
    }

    /** Sets every column of one row equal to the old image: new values first, then the old image. */
    Statement updateOne(TableSpec spec) {
        return cache.computeIfAbsent(List.of("u", spec), k -> {
            StringBuilder sql = new StringBuilder("UPDATE ").append(spec.id().quoted()).append(" SET ");
            for (int i = 0; i < spec.columns().size(); i++) {
                ColumnSpec c = spec.columns().get(i);
                sql.append(i == 0 ? "" : ", ").append(Identifiers.quote(c.name())).append(" = CAST(? AS ").append(c.type()).append(')');
            }
            sql.append(" WHERE ").append(ONE_ROW).append(" = (SELECT tableoid, ctid FROM ").append(spec.id().quoted())
                    .append(" WHERE ").append(rowMatch(spec)).append(" LIMIT 1)");
            return new Statement(sql.toString(), allColumns(spec));
        });
    }

    /**
     * Matches a row to an image by each value's text as the shadow prints it, which works for
     * every type, including those without an equality operator (json, point, xml).
     */
    private static String rowMatch(TableSpec spec) {
        StringBuilder sql = new StringBuilder();
        for (int i = 0; i < spec.columns().size(); i++) {
            ColumnSpec c = spec.columns().get(i);
            sql.append(i == 0 ? "" : " AND ").append(Identifiers.quote(c.name())).append("::text IS NOT DISTINCT FROM CAST(CAST(? AS ")
                    .append(c.type()).append(") AS text)");
        }
        return sql.toString();
    }

    String truncate(List<TableSpec> specs) {
        return "TRUNCATE " + specs.stream().map(s -> s.id().quoted()).distinct().collect(java.util.stream.Collectors.joining(", "));
    }

    static int[] keyColumns(TableSpec spec) {
        int[] key = new int[spec.primaryKey().size()];
        for (int i = 0; i < key.length; i++) {
            key[i] = spec.columnIndex(spec.primaryKey().get(i));
        }
        return key;
    }

    private static List<Integer> nonKeyColumns(TableSpec spec) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < spec.columns().size(); i++) {
            if (!spec.primaryKey().contains(spec.columns().get(i).name())) {
                out.add(i);
            }
        }
        return out;
    }

    private static int[] allColumns(TableSpec spec) {
        int[] all = new int[spec.columns().size()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        return all;
    }

    private static int[] concat(int[] head, List<Integer> tail) {
        int[] out = new int[head.length + tail.size()];
        System.arraycopy(head, 0, out, 0, head.length);
        for (int i = 0; i < tail.size(); i++) {
            out[head.length + i] = tail.get(i);
        }
        return out;
    }

    private static void appendNames(StringBuilder sql, TableSpec spec, int[] columns, String prefix) {
        for (int i = 0; i < columns.length; i++) {
            sql.append(i == 0 ? "" : ", ").append(prefix).append(Identifiers.quote(spec.columns().get(columns[i]).name()));
        }
    }

    private static void appendCasts(StringBuilder sql, TableSpec spec, int[] columns) {
        for (int i = 0; i < columns.length; i++) {
            sql.append(i == 0 ? "" : ", ").append(cast(spec.columns().get(columns[i])));
        }
    }

    /**
     * {@code unnest($1::text[], $2::int8[]) AS u("a", "b")}: one array per bound column, of its
     * {@link #elementType} where {@code typed}, else of text.
     */
    private static void appendUnnest(StringBuilder sql, TableSpec spec, int[] columns, boolean typed) {
        sql.append("unnest(");
        for (int i = 0; i < columns.length; i++) {
            sql.append(i == 0 ? "" : ", ").append("?::").append(typed ? elementType(spec.columns().get(columns[i])) : "text").append("[]");
        }
        sql.append(") AS u(");
        appendNames(sql, spec, columns, "");
        sql.append(")");
    }

    private static void appendKeyMatch(StringBuilder sql, TableSpec spec, int[] key) {
        for (int i = 0; i < key.length; i++) {
            ColumnSpec c = spec.columns().get(key[i]);
            sql.append(i == 0 ? "" : " AND ").append("t.").append(Identifiers.quote(c.name())).append(" = ").append(cast(c));
        }
    }

    /** {@code CAST(u."col" AS numeric(12,2))}: the type text comes from the catalog's format_type. */
    private static String cast(ColumnSpec c) {
        return "CAST(u." + Identifiers.quote(c.name()) + " AS " + c.type() + ")";
    }
}
