package dev.scry.backfill.source;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.OffsetBackingStore;
import org.apache.kafka.connect.util.Callback;

/**
 * The Debezium reader's offset store: hands the engine the offset the shadow committed last (the
 * checkpoint's, converted by {@link PositionCodec} when the other reader wrote it). The engine
 * reads its starting offset here, and Debezium's PostgreSQL task reads it again each time it
 * confirms a position to the slot, so the slot never runs ahead of the shadow. Its writes are
 * ignored: the sink has already committed the same offset with the rows it describes (a second,
 * separate write is exactly what would let a crash duplicate or lose changes).
 *
 * <p>The engine creates this class by name, so {@link DebeziumSource} registers where the offset
 * comes from under a key and passes the key in the engine's properties ({@link #REGISTRY_KEY}).
 */
public final class DebeziumOffsetStore implements OffsetBackingStore {

    /** Engine property naming the registration to read from. */
    static final String REGISTRY_KEY = "offset.storage.scry.registration";

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final Map<String, Supplier<Optional<Map<String, Object>>>> REGISTRY = new ConcurrentHashMap<>();

    private Supplier<Optional<Map<String, Object>>> source;

    /**
     * Makes {@code offsets} available to a store configured with {@code key}. Close the returned
     * handle when the engine has stopped.
     */
    static AutoCloseable register(String key, Supplier<Optional<Map<String, Object>>> offsets) {
        if (REGISTRY.putIfAbsent(key, offsets) != null) {
            throw new IllegalStateException("an offset source is already registered under " + key);
        }
        return () -> REGISTRY.remove(key, offsets);
    }

    @Override
    public void configure(WorkerConfig config) {
        Object key = config.originals().get(REGISTRY_KEY);
        if (key == null) {
            throw new IllegalStateException(REGISTRY_KEY + " is not set; the pipeline wires this store, not the user");
        }
        source = REGISTRY.get(key.toString());
        if (source == null) {
            throw new IllegalStateException("no offset source registered under " + key);
        }
    }

    @Override
    public void start() {
    }

    @Override
    public void stop() {
    }

    /**
     * Answers every key with the stored offset: one pipeline has one connector with one source
     * partition, so whatever partition key the engine asks for, this is its offset.
     */
    @Override
    public Future<Map<ByteBuffer, ByteBuffer>> get(Collection<ByteBuffer> keys) {
        Map<ByteBuffer, ByteBuffer> result = new HashMap<>();
        Optional<Map<String, Object>> offset = source.get();
        if (offset.isPresent()) {
            ByteBuffer value = ByteBuffer.wrap(json(offset.get()).getBytes(StandardCharsets.UTF_8));
            for (ByteBuffer key : keys) {
                result.put(key, value.duplicate());
            }
        }
        return CompletableFuture.completedFuture(result);
    }

    @Override
    public Future<Void> set(Map<ByteBuffer, ByteBuffer> values, Callback<Void> callback) {
        if (callback != null) {
            callback.onCompletion(null, null);
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public Set<Map<String, Object>> connectorPartitions(String connectorName) {
        return Set.of();
    }

    // Kafka Connect's JsonConverter (schemas off), which the engine reads offsets with, reads plain JSON objects.
    private static String json(Map<String, Object> offset) {
        try {
            return JSON.writeValueAsString(offset);
        }
        catch (JsonProcessingException e) {
            throw new IllegalArgumentException("offset cannot be written as JSON: " + e.getMessage(), e);
        }
    }
}
