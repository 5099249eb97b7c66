package dev.scry.backfill.app.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The checks a configuration record runs in its compact constructor, gathered so that it reports
 * every wrong value at once, each named with its full key path ({@code batch.max-rows must be
 * between 1 and 1000000, got 0}). {@link #done()} throws them as one {@link InvalidSettings}; the
 * loader adds them to the file's other problems.
 */
final class Checks {

    private final String path;
    private final List<String> problems = new ArrayList<>();

    /** Checks of the mapping at {@code path} ("" for the top level). */
    Checks(String path) {
        this.path = path;
    }

    String key(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    Checks range(String key, long value, long min, long max) {
        if (value < min || value > max) {
            problems.add(key(key) + " must be between " + min + " and " + max + ", got " + value);
        }
        return this;
    }

    /** Unless {@code ok}: the key, then {@code problem} (what is wrong and the fix). */
    Checks that(boolean ok, String key, String problem) {
        if (!ok) {
            problems.add(key(key) + " " + problem);
        }
        return this;
    }

    void done() {
        if (!problems.isEmpty()) {
            throw new InvalidSettings(problems);
        }
    }
}
