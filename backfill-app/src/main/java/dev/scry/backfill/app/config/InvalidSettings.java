package dev.scry.backfill.app.config;

import java.util.List;

/** What a configuration record's constructor found wrong with its values, each problem naming its key path. */
final class InvalidSettings extends RuntimeException {

    private final List<String> problems;

    InvalidSettings(List<String> problems) {
        super(String.join("; ", problems), null, false, false);
        this.problems = List.copyOf(problems);
    }

    List<String> problems() {
        return problems;
    }
}
