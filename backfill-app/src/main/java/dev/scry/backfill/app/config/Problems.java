package dev.scry.backfill.app.config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Every problem of one configuration file, gathered while it is read so that one run names them
 * all: one {@link ConfigException}, exit 2, before anything connects.
 */
final class Problems {

    private final String file;
    private final List<String> problems = new ArrayList<>();

    Problems(String file) {
        this.file = file;
    }

    void add(String problem) {
        problems.add(problem);
    }

    /** The record {@code build} makes, or null when its constructor refused its values (the problems are kept). */
    <T> T record(Supplier<T> build) {
        try {
            return build.get();
        }
        catch (InvalidSettings e) {
            problems.addAll(e.problems());
            return null;
        }
        catch (ConfigException e) {
            problems.add(e.getMessage());
            return null;
        }
    }

    boolean any() {
        return !problems.isEmpty();
    }

    /** Throws every problem so far in one message: the file, then each problem with its key path. */
    void report() {
        if (problems.size() == 1) {
            throw new ConfigException(file + ": " + problems.get(0));
        }
        if (!problems.isEmpty()) {
            StringBuilder message = new StringBuilder(file).append(": ").append(problems.size()).append(" problems:");
            for (int i = 0; i < problems.size(); i++) {
                message.append(i == 0 ? " " : "; ").append('(').append(i + 1).append(") ").append(problems.get(i));
            }
            throw new ConfigException(message.toString());
        }
    }
}
