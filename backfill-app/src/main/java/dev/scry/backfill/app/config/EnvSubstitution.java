package dev.scry.backfill.app.config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code ${NAME}} and {@code ${NAME:-default}} anywhere in the file are replaced with environment
 * variables; {@code $${...}} stays literal.
 *
 * <p>Done in two steps so that it works anywhere, inside flow mappings too ({@code {port: ${PORT}}}
 * is not valid YAML as written), and so that a value full of YAML punctuation (a password) can
 * never change the file's structure: {@link #protect} swaps every reference for a plain token
 * before parsing, and {@link #apply} puts the variable's value in place of the token in the parsed
 * value.
 */
final class EnvSubstitution {

    private static final Pattern REF = Pattern.compile("\\$\\$\\{|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
    private static final String LITERAL = "__scry_literal_dollar_brace__";
    private static final Pattern TOKEN = Pattern.compile("__scry_env_(\\d+)__|" + LITERAL);

    private record Reference(String name, String fallback) {
    }

    private final Function<String, String> env;
    private final List<Reference> references = new ArrayList<>();

    EnvSubstitution(Function<String, String> env) {
        this.env = env;
    }

    /** The file's text with each reference replaced by a token YAML reads as plain text. */
    String protect(String text) {
        Matcher m = REF.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String token;
            if (m.group(1) == null) {
                token = LITERAL;
            }
            else {
                references.add(new Reference(m.group(1), m.group(2)));
                token = "__scry_env_" + (references.size() - 1) + "__";
            }
            m.appendReplacement(out, Matcher.quoteReplacement(token));
        }
        m.appendTail(out);
        return out.toString();
    }

    static boolean hasReference(String value) {
        return TOKEN.matcher(value).find();
    }

    /** Whether the value is exactly one reference, so that its result is typed like a YAML scalar. */
    static boolean isWholeReference(String value) {
        Matcher m = TOKEN.matcher(value);
        return m.matches() && m.group(1) != null;
    }

    String apply(String value, String keyPath) {
        Matcher m = TOKEN.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String replacement;
            if (m.group(1) == null) {
                replacement = "${";
            }
            else {
                Reference ref = references.get(Integer.parseInt(m.group(1)));
                replacement = env.apply(ref.name());
                if (replacement == null) {
                    if (ref.fallback() == null) {
                        throw new ConfigException(keyPath + " uses ${" + ref.name() + "} but environment variable " + ref.name()
                                + " is not set; export it or write ${" + ref.name() + ":-default}");
                    }
                    replacement = ref.fallback();
                }
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }
}
