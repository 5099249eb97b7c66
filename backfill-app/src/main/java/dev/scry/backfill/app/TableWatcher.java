package dev.scry.backfill.app;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.error.PipelineFailure;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ShadowSink;
import dev.scry.backfill.snapshot.TableAdder;
import dev.scry.backfill.source.SourceCatalog;

/**
 * While the pipeline streams, looks for tables created on the source that a pattern in
 * {@code tables} matches, and adds each (see {@link TableAdder}). A matching table the pipeline
 * cannot take (no key and no usable replica identity, a type it cannot carry) stops the pipeline
 * with the reason: it is never published, and never silently left out.
 */
final class TableWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TableWatcher.class);

    // What the running reader carries: a table that joins is checked against it.
    private final dev.scry.backfill.source.ChangeSources.Choice reader;
    private final BackfillConfig config;
    private final Map<TableId, TableSpec> live;
    private final ShadowSink sink;
    private final TableAdder adder;
    private final Runnable stopPipeline;
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();
    private final Thread thread;
    private volatile boolean closed;

    private final dev.scry.backfill.transform.TransformChain chain;

    // Tables `table remove` took out: a pattern matching them does not bring them back.
    private final java.util.function.Predicate<TableId> removed;

    TableWatcher(BackfillConfig config, dev.scry.backfill.source.ChangeSources.Choice reader, Map<TableId, TableSpec> live, ShadowSink sink, TableAdder adder,
                 dev.scry.backfill.transform.TransformChain chain, Runnable stopPipeline, java.util.function.Predicate<TableId> removed) {
        this.removed = removed;
        this.reader = reader;
        this.chain = chain;
        this.config = config;
        this.live = live;
        this.sink = sink;
        this.adder = adder;
        this.stopPipeline = stopPipeline;
        this.thread = new Thread(this::loop, "table-watcher");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Why the watcher stopped the pipeline, if it did. */
    RuntimeException failure() {
        return failure.get();
    }

    private void loop() {
        while (!closed) {
            try {
                Thread.sleep(config.discoverTablesEvery().toMillis());
                check();
            }
            catch (InterruptedException e) {
                return;
            }
            catch (SetupException e) {
                failure.set(new PipelineFailure(e.getMessage() + " (this table was created while the pipeline ran and matches `tables`;"
                        + " fix it or narrow the pattern, then run `resume`)", e));
                stopPipeline.run();
                return;
            }
            catch (Exception e) {
                LOG.warn("looking for new tables on the source failed ({}); trying again", e.toString());
            }
        }
    }

    private void check() throws Exception {
        try (Connection source = ConnectionFactory.open(config.source(), "source")) {
            List<TableId> matched = new SourceCatalog(source).resolve(config.selectors());
            java.util.Set<TableId> published = null;
            java.util.Map<TableId, ?> copied = null;
            for (TableId table : matched) {
                if (closed || live.containsKey(table) || removed.test(table)) {
                    continue;
                }
                TableSpec spec = reader.preflight(source, config.source().describe())
                        .check(List.of(table), dev.scry.backfill.transform.TransformChain.dropsColumn(config.transforms())).get(table);
                if (published == null) {
                    published = new dev.scry.backfill.source.SourceAdmin(source).publishedTables(config.publication());
                    try (Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
                        copied = new dev.scry.backfill.checkpoint.CheckpointStore(config.pipeline()).progress(shadow);
                    }
                }
                if (published.contains(table) && copied.containsKey(table)) {
                    // Added by an earlier run that then stopped (a source fault): copied and published already.
                    live.put(table, spec);
                    sink.join(chain.shape(spec));
                    continue;
                }
                LOG.info("table {} appeared on the source and matches `tables`; adding it", table);
                adder.add(spec, () -> {
                    live.put(table, spec);
                    sink.join(chain.shape(spec));
                });
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
