package dev.scry.backfill.sink.schema;

/**
 * {@code schema:} in the configuration, validated by the loader.
 *
 * @param copyOwnership  give each object the source's owner (every owner must exist on the shadow)
 * @param copyPrivileges give each object the source's grants (every grantee must exist on the shadow)
 * @param captureDdl     schema changes travel in the stream, written there by an event trigger on the source
 * @param checkIntervalMs how often a running cdc compares the two schemas (the drift check); 0: only at start
 * @param captureKey     with capture, the key the source's trigger signs the captured DDL with (read
 *                       from the source at start, never from the file); null until then
 */
public record SchemaSettings(boolean copyOwnership, boolean copyPrivileges, boolean captureDdl, long checkIntervalMs, String captureKey) {

    public SchemaSettings(boolean copyOwnership, boolean copyPrivileges, boolean captureDdl, long checkIntervalMs) {
        this(copyOwnership, copyPrivileges, captureDdl, checkIntervalMs, null);
    }

    /** The same settings with the capture's key, as read from the source. */
    public SchemaSettings withCaptureKey(String key) {
        return new SchemaSettings(copyOwnership, copyPrivileges, captureDdl, checkIntervalMs, key);
    }

    @Override
    public String toString() {
        // The key is a secret: never printed.
        return "SchemaSettings[copyOwnership=" + copyOwnership + ", copyPrivileges=" + copyPrivileges + ", captureDdl=" + captureDdl
                + ", checkIntervalMs=" + checkIntervalMs + "]";
    }

    public static final long CHECK_INTERVAL_MS = 60_000;

    public static final SchemaSettings DEFAULT = new SchemaSettings(false, false);

    public SchemaSettings(boolean copyOwnership, boolean copyPrivileges) {
        this(copyOwnership, copyPrivileges, false, CHECK_INTERVAL_MS);
    }
}
