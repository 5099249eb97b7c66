package dev.scry.backfill.snapshot;

/**
 * How the initial copy is taken ({@code snapshot:} in the configuration).
 *
 * @param method      {@link Method#COPY} (default) or {@link Method#DEBEZIUM}
 * @param parallelism tables (or parts of tables) copied at once by the COPY method
 * @param chunkMegabytes the COPY method splits a table larger than this into parts of about this
 *                       size, copied in parallel like tables; 0 never splits
 * @param chunkRows   rows a copy while streaming reads under one snapshot, between two watermarks
 *                    ({@link ChunkedCopy}): the longest a read of the source lasts
 * @param claimTimeoutMillis how long a claim on a part lasts without a heartbeat ({@link PartClaims}): a
 *                    process that died or stopped loses its parts to the others after this
 */
public record SnapshotSettings(Method method, int parallelism, int chunkMegabytes, int chunkRows, int claimTimeoutMillis) {

    public static final int DEFAULT_CHUNK_MB = 256;
    public static final int DEFAULT_CHUNK_ROWS = 10_000;
    public static final int DEFAULT_CLAIM_TIMEOUT_MS = 30_000;
    public static final SnapshotSettings DEFAULT = new SnapshotSettings(Method.COPY, 2, DEFAULT_CHUNK_MB, DEFAULT_CHUNK_ROWS,
            DEFAULT_CLAIM_TIMEOUT_MS);

    public SnapshotSettings(Method method, int parallelism, int chunkMegabytes) {
        this(method, parallelism, chunkMegabytes, DEFAULT_CHUNK_ROWS, DEFAULT_CLAIM_TIMEOUT_MS);
    }

    /** The two ways to take the initial copy. */
    public enum Method {
        /** COPY under the snapshot the new slot exports: exact text for every type, at COPY speed. */
        COPY,
        /** Debezium's own snapshot: rows through JDBC and the engine, with its type conversions. */
        DEBEZIUM
    }

    public SnapshotSettings {
        if (method == null) {
            throw new IllegalArgumentException("snapshot method is required");
        }
        if (parallelism < 1) {
            throw new IllegalArgumentException("snapshot parallelism must be >= 1, got " + parallelism);
        }
        if (chunkRows < 1) {
            throw new IllegalArgumentException("snapshot chunk rows must be >= 1, got " + chunkRows);
        }
        if (claimTimeoutMillis < 1) {
            throw new IllegalArgumentException("snapshot claim timeout must be >= 1 ms, got " + claimTimeoutMillis);
        }
        if (chunkMegabytes < 0) {
            throw new IllegalArgumentException("snapshot chunk size must be >= 0 MB, got " + chunkMegabytes);
        }
    }
}
