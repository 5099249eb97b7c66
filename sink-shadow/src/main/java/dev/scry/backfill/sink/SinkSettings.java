package dev.scry.backfill.sink;

import dev.scry.backfill.error.RetryPolicy;
import java.util.Objects;

import dev.scry.backfill.model.ConnectionSettings;

/**
 * What the shadow sink needs, validated by the configuration loader.
 *
 * @param pipeline the pipeline id, which keys its checkpoint
 * @param slot     the slot whose position the checkpoint records
 * @param shadow   the shadow database
 * @param retry    how transient shadow faults are retried
 * @param tolerateErrors with errors.tolerance: all, a change the shadow rejects is stored as a dead
 *                 letter and the batch's other changes commit; otherwise the pipeline stops
 * @param wholeSchema whether the configuration takes a schema whole ({@code shop.*}): schema
 *                 changes captured on the source reach that schema's views and functions too
 * @param captureKey the key captured schema changes are signed with; null: none is applied
 */
public record SinkSettings(String pipeline, String slot, ConnectionSettings shadow, RetryPolicy retry, boolean tolerateErrors,
                           java.util.function.Predicate<String> wholeSchema, String captureKey) {

    public SinkSettings(String pipeline, String slot, ConnectionSettings shadow, RetryPolicy retry) {
        this(pipeline, slot, shadow, retry, false);
    }

    public SinkSettings(String pipeline, String slot, ConnectionSettings shadow, RetryPolicy retry, boolean tolerateErrors) {
        this(pipeline, slot, shadow, retry, tolerateErrors, schema -> false, null);
    }

    @Override
    public String toString() {
        // The capture key is a secret: never printed.
        return "SinkSettings[pipeline=" + pipeline + ", slot=" + slot + ", shadow=" + shadow + ", retry=" + retry + ", tolerateErrors="
                + tolerateErrors + "]";
    }

    public SinkSettings {
        Objects.requireNonNull(pipeline, "pipeline");
        Objects.requireNonNull(slot, "slot");
        Objects.requireNonNull(shadow, "shadow");
        Objects.requireNonNull(retry, "retry");
        Objects.requireNonNull(wholeSchema, "wholeSchema");
    }
}
