package dev.scry.backfill.app.config;

import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Replaces {@code ${NAME}} and {@code ${NAME:-default}} in configuration values with environment
 * variables; {@code $${...}} stays literal. Applied to parsed values, never to the raw file, so a
 * password full of YAML punctuation cannot change the file's structure.
 */
final class EnvSubstitution {

    private static final Pattern REF = Pattern.compile("\\$\\$\\{|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

    private final Function<String, String> env;

    EnvSubstitution(Function<String, String> env) {
        this.env = env;
    }

    static EnvSubstitution fromSystem() {
        Map<String, String> env = System.getenv();
        return new EnvSubstitution(env::get);
    }

    /** Whether the value is exactly one reference, so that its result is typed like a YAML scalar. */
    static boolean isWholeReference(String value) {
        Matcher m = REF.matcher(value);
        return m.matches() && m.group(1) != null;
    }

    static boolean hasReference(String value) {
        return value.contains("${");
    }

    String apply(String value, String keyPath) {
        Matcher m = REF.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            if (m.group(1) == null) {
                m.appendReplacement(out, Matcher.quoteReplacement("${"));
                continue;
            }
            String name = m.group(1);
            String found = env.apply(name);
            if (found == null) {
                if (m.group(2) == null) {
                    throw new ConfigException(keyPath + " uses ${" + name + "} but environment variable " + name
                            + " is not set; export it or write ${" + name + ":-default}");
                }
                found = m.group(2);
            }
            m.appendReplacement(out, Matcher.quoteReplacement(found));
        }
        m.appendTail(out);
        return out.toString();
    }
}
