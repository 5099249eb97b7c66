package dev.scry.backfill.model;

import java.util.Locale;

/** Where a pipeline is: copying the initial snapshot, or streaming changes from the slot. */
public enum Phase {
    SNAPSHOT,
    STREAMING;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Phase fromLabel(String label) {
        return valueOf(label.toUpperCase(Locale.ROOT));
    }
}
