package dev.scry.backfill.source;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;

/**
 * The embedded engine with our configuration and a consumer that does nothing but acknowledge:
 * the benchmark's baseline for what Debezium itself costs, so that the cost of everything after it
 * (conversion, batching, throttle, transforms, apply) is visible. Offsets live in memory; the
 * engine starts from the slot's confirmed position. Not used by the pipeline.
 */
public final class RawEngine {

    /** How many change events came out and how long it took from the engine's start. */
    public record Result(long changes, long records, long nanos) {
    }

    private RawEngine() {
    }

    /** Streams from {@code settings.slot()} until {@code changes} row changes came out, or {@code timeoutMillis} passed. */
    public static Result drain(StreamSettings settings, long changes, long timeoutMillis) throws InterruptedException {
        AtomicLong seen = new AtomicLong();
        AtomicLong records = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean closing = new AtomicBoolean();
        OffsetStorage memory = new OffsetStorage("org.apache.kafka.connect.storage.MemoryOffsetBackingStore", Map.of());
        long start = System.nanoTime();
        DebeziumEngine<RecordChangeEvent<SourceRecord>> engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                .using(EngineProperties.build(settings, EngineProperties.Start.STREAM_ONLY, memory, ToastPlaceholder.random()))
                .using((success, message, error) -> {
                    // Work the engine had in flight when we closed it fails on its way out: not a failure.
                    if (!success && !closing.get()) {
                        failure.compareAndSet(null, error != null ? error : new IllegalStateException(message));
                    }
                    done.countDown();
                })
                .notifying((List<RecordChangeEvent<SourceRecord>> batch,
                            DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) -> {
                    for (RecordChangeEvent<SourceRecord> event : batch) {
                        records.incrementAndGet();
                        if (event.record().value() instanceof Struct value && value.schema().field("op") != null) {
                            seen.incrementAndGet();
                        }
                        committer.markProcessed(event);
                    }
                    committer.markBatchFinished();
                    if (seen.get() >= changes) {
                        done.countDown();
                    }
                })
                .build();
        ExecutorService thread = Executors.newSingleThreadExecutor(r -> new Thread(r, "raw-engine"));
        thread.execute(engine);
        boolean finished = done.await(timeoutMillis, TimeUnit.MILLISECONDS);
        long nanos = System.nanoTime() - start;
        closing.set(true);
        try {
            engine.close();
        }
        catch (IOException | IllegalStateException ignored) {
            // Already stopped.
        }
        thread.shutdown();
        thread.awaitTermination(60, TimeUnit.SECONDS);
        if (failure.get() != null) {
            throw new IllegalStateException("the engine failed: " + failure.get(), failure.get());
        }
        if (!finished) {
            throw new IllegalStateException("only " + seen.get() + " of " + changes + " changes came out in " + timeoutMillis + " ms");
        }
        return new Result(seen.get(), records.get(), nanos);
    }
}
