package dev.scry.backfill.app.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;


/**
 * One mapping of the configuration file, read with its key path so that every error names the
 * exact key ({@code source.port must be an integer ...}). Keys are declared up front: anything
 * else is an error, which is how a typo is caught before it silently falls back to a default.
 * A key of the wrong YAML type, or a required one missing, is added to the file's
 * {@link Problems} and read as its default (null when it has none), so that reading goes on and
 * one message names every problem; what a value means is checked by the record it goes into
 * ({@link ConfigRecords}).
 */
final class Section {

    private final Problems problems;
    private final String path;
    private final Map<?, ?> map;
    private final EnvSubstitution env;

    Section(Problems problems, String path, Map<?, ?> map, EnvSubstitution env, Set<String> known) {
        this.problems = problems;
        this.path = path;
        this.map = map;
        this.env = env;
        for (Object key : map.keySet()) {
            if (!(key instanceof String) || !known.contains(key)) {
                problems.add(qualified(String.valueOf(key)) + " is not a known key; known keys" + (path.isEmpty() ? "" : " under " + path)
                        + " are " + String.join(", ", new TreeSet<>(known)));
            }
        }
    }

    String path() {
        return path;
    }

    ConfigException error(String message) {
        return new ConfigException(message);
    }

    /** Adds a problem of this mapping to the file's. */
    void problem(String message) {
        problems.add(message);
    }

    /** A mapping under this one, with the same problems; {@code path} is its full key path. */
    Section entry(String path, Map<?, ?> map, Set<String> known) {
        return new Section(problems, path, map, env, known);
    }

    String qualified(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        return map.containsKey(key) && map.get(key) != null;
    }

    /**
     * A value that was exactly one {@code ${...}} reference: text, which a numeric or boolean key
     * may also read as a number or boolean ({@code port: ${PORT}}); a string key keeps the text
     * as it is (a password "007" stays "007").
     */
    private record FromEnvironment(String text) {
    }

    /** The value after ${ENV} substitution. */
    private Object value(String key) {
        Object raw = map.get(key);
        return resolve(raw, qualified(key));
    }

    private Object resolve(Object raw, String keyPath) {
        if (raw instanceof String s && EnvSubstitution.hasReference(s)) {
            boolean whole = EnvSubstitution.isWholeReference(s);
            String substituted = env.apply(s, keyPath);
            return whole ? new FromEnvironment(substituted) : substituted;
        }
        return raw;
    }

    String string(String key, String defaultValue) {
        try {
            return readString(key, defaultValue);
        }
        catch (ConfigException e) {
            problems.add(e.getMessage());
            return defaultValue;
        }
    }

    private String readString(String key, String defaultValue) {
        if (!has(key)) {
            if (defaultValue == null) {
                throw error(qualified(key) + " is required");
            }
            return defaultValue;
        }
        Object v = value(key);
        if (v instanceof FromEnvironment e) {
            return e.text();
        }
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Number || v instanceof Boolean) {
            // YAML reads `database: 2024` as a number; a name is still a name.
            return v.toString();
        }
        throw error(qualified(key) + " must be a string, got " + (key.contains("password") ? "a " + typeName(v) : describe(v)));
    }

    private static String typeName(Object v) {
        return v instanceof Map<?, ?> ? "mapping" : v instanceof List<?> ? "list" : "non-string value";
    }

    /** An integer key (its range is its record's to check). */
    long integer(String key, long defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        try {
            Object v = value(key);
            if (v instanceof FromEnvironment e && e.text().matches("[-+]?\\d{1,18}")) {
                v = Long.parseLong(e.text());
            }
            if (!(v instanceof Integer || v instanceof Long)) {
                throw error(qualified(key) + " must be an integer, got " + describe(v));
            }
            return ((Number) v).longValue();
        }
        catch (ConfigException e) {
            problems.add(e.getMessage());
            return defaultValue;
        }
    }

    boolean bool(String key, boolean defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        try {
            Object v = value(key);
            if (v instanceof FromEnvironment e && (e.text().equals("true") || e.text().equals("false"))) {
                v = Boolean.parseBoolean(e.text());
            }
            if (!(v instanceof Boolean b)) {
                throw error(qualified(key) + " must be true or false, got " + describe(v));
            }
            return b;
        }
        catch (ConfigException e) {
            problems.add(e.getMessage());
            return defaultValue;
        }
    }

    /** The mapping under {@code key}; an empty one when it is missing or not a mapping (a problem when it had to be one). */
    Section section(String key, Set<String> known, boolean required) {
        if (!has(key)) {
            if (required) {
                problems.add(qualified(key) + " is required (a mapping with keys " + String.join(", ", new TreeSet<>(known)) + ")");
            }
            return new Section(problems, qualified(key), Map.of(), env, known);
        }
        Object v = map.get(key);
        if (!(v instanceof Map<?, ?> m)) {
            problems.add(qualified(key) + " must be a mapping, got " + describe(v));
            return new Section(problems, qualified(key), Map.of(), env, known);
        }
        return new Section(problems, qualified(key), m, env, known);
    }

    /** A required list of strings; empty when it is missing or wrong (the problem kept). */
    List<String> strings(String key) {
        if (!has(key)) {
            problems.add(qualified(key) + " is required (a list)");
            return List.of();
        }
        Object v = map.get(key);
        if (!(v instanceof List<?> list)) {
            problems.add(qualified(key) + " must be a list, got " + describe(v));
            return List.of();
        }
        List<String> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            try {
                Object item = resolve(list.get(i), qualified(key) + "[" + i + "]");
                if (item instanceof FromEnvironment e) {
                    item = e.text();
                }
                if (!(item instanceof String s)) {
                    throw error(qualified(key) + "[" + i + "] must be a string, got " + describe(item));
                }
                out.add(s);
            }
            catch (ConfigException e) {
                problems.add(e.getMessage());
            }
        }
        return out;
    }

    /** Whether the key holds a list with nothing in it. */
    boolean isEmptyList(String key) {
        return map.get(key) instanceof List<?> list && list.isEmpty();
    }

    List<Object> list(String key) {
        if (!has(key)) {
            return List.of();
        }
        Object v = map.get(key);
        if (!(v instanceof List<?> list)) {
            problems.add(qualified(key) + " must be a list, got " + describe(v));
            return List.of();
        }
        return new ArrayList<>(list);
    }

    static String describe(Object v) {
        if (v == null) {
            return "nothing";
        }
        if (v instanceof FromEnvironment e) {
            return "'" + e.text() + "'";
        }
        if (v instanceof String s) {
            return "'" + s + "'";
        }
        if (v instanceof Map<?, ?>) {
            return "a mapping";
        }
        if (v instanceof List<?>) {
            return "a list";
        }
        return v.toString();
    }

    static Map<String, Object> empty() {
        return new LinkedHashMap<>();
    }
}
