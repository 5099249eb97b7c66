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
 */
final class Section {

    private final String file;
    private final String path;
    private final Map<?, ?> map;
    private final EnvSubstitution env;

    Section(String file, String path, Map<?, ?> map, EnvSubstitution env, Set<String> known) {
        this.file = file;
        this.path = path;
        this.map = map;
        this.env = env;
        for (Object key : map.keySet()) {
            if (!(key instanceof String) || !known.contains(key)) {
                throw error(qualified(String.valueOf(key)) + " is not a known key; known keys" + (path.isEmpty() ? "" : " under " + path)
                        + " are " + String.join(", ", new TreeSet<>(known)));
            }
        }
    }

    String path() {
        return path;
    }

    ConfigException error(String message) {
        return new ConfigException(file + ": " + message);
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
            String substituted;
            try {
                substituted = env.apply(s, keyPath);
            }
            catch (ConfigException e) {
                throw error(e.getMessage());
            }
            return whole ? new FromEnvironment(substituted) : substituted;
        }
        return raw;
    }

    String string(String key, String defaultValue) {
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

    long integer(String key, long defaultValue, long min, long max) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = value(key);
        if (v instanceof FromEnvironment e && e.text().matches("[-+]?\\d{1,18}")) {
            v = Long.parseLong(e.text());
        }
        if (!(v instanceof Integer || v instanceof Long)) {
            throw error(qualified(key) + " must be an integer, got " + describe(v));
        }
        long n = ((Number) v).longValue();
        if (n < min || n > max) {
            throw error(qualified(key) + " must be between " + min + " and " + max + ", got " + n);
        }
        return n;
    }

    boolean bool(String key, boolean defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = value(key);
        if (v instanceof FromEnvironment e && (e.text().equals("true") || e.text().equals("false"))) {
            v = Boolean.parseBoolean(e.text());
        }
        if (!(v instanceof Boolean b)) {
            throw error(qualified(key) + " must be true or false, got " + describe(v));
        }
        return b;
    }

    Section section(String key, Set<String> known, boolean required) {
        if (!has(key)) {
            if (required) {
                throw error(qualified(key) + " is required (a mapping with keys " + String.join(", ", new TreeSet<>(known)) + ")");
            }
            return new Section(file, qualified(key), Map.of(), env, known);
        }
        Object v = map.get(key);
        if (!(v instanceof Map<?, ?> m)) {
            throw error(qualified(key) + " must be a mapping, got " + describe(v));
        }
        return new Section(file, qualified(key), m, env, known);
    }

    List<String> strings(String key) {
        if (!has(key)) {
            throw error(qualified(key) + " is required (a list)");
        }
        Object v = map.get(key);
        if (!(v instanceof List<?> list)) {
            throw error(qualified(key) + " must be a list, got " + describe(v));
        }
        List<String> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object item = resolve(list.get(i), qualified(key) + "[" + i + "]");
            if (item instanceof FromEnvironment e) {
                item = e.text();
            }
            if (!(item instanceof String s)) {
                throw error(qualified(key) + "[" + i + "] must be a string, got " + describe(item));
            }
            out.add(s);
        }
        return out;
    }

    List<Object> list(String key) {
        if (!has(key)) {
            return List.of();
        }
        Object v = map.get(key);
        if (!(v instanceof List<?> list)) {
            throw error(qualified(key) + " must be a list, got " + describe(v));
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
