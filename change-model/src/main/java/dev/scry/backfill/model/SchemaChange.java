package dev.scry.backfill.model;

import java.util.Objects;

/**
 * A schema change made on the source, at its place in the stream: what the event trigger that
 * {@code schema.capture-ddl} installs on the source wrote into the WAL as a transactional logical
 * message (see the cdc-stream module's {@code DdlCapture}). The sink reads the command out of it
 * and applies it on the shadow in the transaction of the rows around it.
 *
 * @param lsn     where the message is in the source's WAL: names this change (a stop, a resume)
 * @param content the message as the trigger wrote it: its signature (64 hex digits), then JSON (the
 *                command tag, the statement text, the objects it touched, the session's search_path)
 * @param before  the position right before it (inside its transaction): where the shadow stops
 *                when it cannot apply the change, so that the rows before it are kept
 */
public record SchemaChange(Lsn lsn, String content, SourcePosition before) {

    /** The table every schema change is filed under in a batch: it belongs to no table of its own. */
    public static final TableId TABLE = new TableId("scry_backfill", "schema_change");

    public SchemaChange {
        Objects.requireNonNull(lsn, "lsn");
        Objects.requireNonNull(content, "content");
    }

    /**
     * The JSON the trigger wrote, when {@code key} (the installation's, {@code scry_backfill.capture_key}
     * on the source) signed it; null otherwise. Anyone on the source may write a logical message
     * with any prefix: the signature, {@code hex(sha256(key || hex(sha256(body))))} as the trigger
     * computes it in SQL, is what only the trigger can make.
     */
    public String body(String key) {
        if (key == null || content.length() < 64) {
            return null;
        }
        String body = content.substring(64);
        return java.security.MessageDigest.isEqual(sign(key, body).getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                content.substring(0, 64).getBytes(java.nio.charset.StandardCharsets.US_ASCII)) ? body : null;
    }

    static String sign(String key, String body) {
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            String inner = java.util.HexFormat.of().formatHex(sha.digest(body.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            return java.util.HexFormat.of().formatHex(sha.digest((key + inner).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }
}
