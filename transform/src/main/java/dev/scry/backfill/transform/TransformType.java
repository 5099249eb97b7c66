package dev.scry.backfill.transform;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.BiPredicate;

import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSelector;
import dev.scry.backfill.model.TableSpec;

/**
 * One transform type, declared once: the name an entry's {@code type:} takes, the keys the entry
 * may hold besides {@code type}, how the step is built from them (its validator: a setting that is
 * wrong throws {@link IllegalArgumentException} whose message starts with the key), and which
 * columns its settings alone remove. The configuration loader, the chain and the README's
 * "Transforms" section (held to {@link #BUILT_IN} by a test) read this one list; what a built step
 * does to each table it says itself ({@link Transform#effect}).
 *
 * @param keys the keys an entry may hold besides {@code type}, or null for a custom type, which
 *             checks its own when it is built
 */
public record TransformType(String name, Set<String> keys, Factory factory, Drops drops) {

    /** Builds the step from an entry's settings (every key but {@code type}) for the pipeline's tables. */
    @FunctionalInterface
    public interface Factory {
        Transform create(Map<String, Object> settings, List<TableSpec> tables);
    }

    /** The columns an entry removes, known from its settings before any table is read. */
    @FunctionalInterface
    public interface Drops {
        BiPredicate<TableId, String> columns(Map<String, Object> settings);
    }

    private static final Drops NOTHING = settings -> (table, column) -> false;

    public static final List<TransformType> BUILT_IN = List.of(
            new TransformType("drop-columns", Set.of("columns"), (s, tables) -> new DropColumns(columns(s)),
                    s -> {
                        List<ColumnSelector> selectors = columns(s);
                        return (table, column) -> selectors.stream().anyMatch(c -> c.matches(table, column));
                    }),
            new TransformType("hash", Set.of("columns", "key", "key-file"), (s, tables) -> new ValueTransforms.Hash(columns(s),
                    required(s, "key", "give it from the environment (key: ${HASH_KEY}) or a file (key-file:)")), NOTHING),
            new TransformType("redact", Set.of("columns", "value"),
                    (s, tables) -> new ValueTransforms.Redact(columns(s), s.get("value") == null ? null : s.get("value").toString()), NOTHING),
            new TransformType("mask", Set.of("columns", "keep-last"),
                    (s, tables) -> new ValueTransforms.Mask(columns(s), (int) number(s, "keep-last", false).longValue()), NOTHING),
            new TransformType("generalize", Set.of("columns", "bucket", "truncate"),
                    (s, tables) -> new ValueTransforms.Generalize(columns(s), s.containsKey("bucket") ? number(s, "bucket", true) : null,
                            s.containsKey("truncate") ? truncate(s) : null), NOTHING),
            new TransformType("filter-rows", Set.of("table", "where"),
                    (s, tables) -> new FilterRows(table(s), required(s, "where", "write an expression over the table's columns")),
                    NOTHING));

    public TransformType {
        keys = keys == null ? null : Set.copyOf(keys);
    }

    /** A custom type, from a {@link TransformProvider} on the classpath. */
    static TransformType custom(TransformProvider provider) {
        return new TransformType(provider.type(), null, provider::create, NOTHING);
    }

    /** Every type by name: the built-in ones, then the custom ones on the classpath. */
    public static Map<String, TransformType> all() {
        Map<String, TransformType> out = new LinkedHashMap<>();
        BUILT_IN.forEach(t -> out.put(t.name(), t));
        for (TransformProvider p : ServiceLoader.load(TransformProvider.class)) {
            out.putIfAbsent(p.type(), custom(p));
        }
        return out;
    }

    /** The keys an entry may hold besides {@code type}; empty for a custom type, which takes any. */
    public Optional<Set<String>> declaredKeys() {
        return Optional.ofNullable(keys);
    }

    /**
     * What is wrong with an entry's settings, known before any table is read: the first wrong
     * key's problem, starting with the key. A custom type is checked when it is built.
     */
    public Optional<String> check(Map<String, Object> settings) {
        if (keys == null) {
            return Optional.empty();
        }
        try {
            factory.create(settings, List.of());
            return Optional.empty();
        }
        catch (IllegalArgumentException e) {
            return Optional.of(e.getMessage());
        }
    }

    private static List<ColumnSelector> columns(Map<String, Object> s) {
        Object v = s.get("columns");
        if (!(v instanceof List<?> list) || list.isEmpty()) {
            throw new IllegalArgumentException("columns must be a non-empty list of schema.table.column");
        }
        List<ColumnSelector> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            try {
                out.add(ColumnSelector.parse(String.valueOf(list.get(i))));
            }
            catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("columns[" + i + "]: " + e.getMessage(), e);
            }
        }
        return out;
    }

    private static String table(Map<String, Object> s) {
        String text = required(s, "table", "name one of the configured tables, schema-qualified");
        try {
            TableSelector.parse(text);
            return text;
        }
        catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("table: " + e.getMessage(), e);
        }
    }

    private static String required(Map<String, Object> s, String key, String fix) {
        Object v = s.get(key);
        if (v == null || v.toString().isEmpty()) {
            throw new IllegalArgumentException(key + " is required: " + fix);
        }
        return v.toString();
    }

    private static BigDecimal number(Map<String, Object> s, String key, boolean positive) {
        Object v = s.get(key);
        try {
            BigDecimal n = new BigDecimal(String.valueOf(v));
            if (n.signum() < 0 || (positive && n.signum() == 0)) {
                throw new IllegalArgumentException(key + " must be " + (positive ? "> 0" : ">= 0") + ", got " + v);
            }
            return n;
        }
        catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got " + v);
        }
    }

    private static String truncate(Map<String, Object> s) {
        String unit = String.valueOf(s.get("truncate"));
        if (!Set.of("hour", "day", "month", "year").contains(unit)) {
            throw new IllegalArgumentException("truncate must be hour, day, month or year, got '" + unit + "'");
        }
        return unit;
    }
}
