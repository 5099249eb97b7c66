package dev.scry.backfill.app.operator;

import dev.scry.backfill.model.ConnectionFactory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import dev.scry.backfill.app.config.BackfillConfig;
import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.TableRequests;
import dev.scry.backfill.checkpoint.TableStates;
import dev.scry.backfill.error.SetupException;
import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.HeldChanges;
import dev.scry.backfill.sink.ShadowSink;
import dev.scry.backfill.snapshot.ChunkedCopy;
import dev.scry.backfill.snapshot.TableAdder;
import dev.scry.backfill.source.SourceAdmin;
import dev.scry.backfill.source.SourceCatalog;
import dev.scry.backfill.source.SourcePreflight;
import dev.scry.backfill.source.Watermarks;
import dev.scry.backfill.throttle.Throttle;
import dev.scry.backfill.transform.TransformChain;

/**
 * What each table request does in a streaming daemon, through the stream's watermarks:
 *
 * <ul>
 * <li>add: the table is checked as at start-up, created on the shadow, tracked, published, and
 *     copied in key-ordered chunks ({@link ChunkedCopy}) while it already streams; a table without
 *     a key is copied whole under a SHARE lock instead, as tables created while streaming are.</li>
 * <li>resnapshot: copied again the same way, on a shadow table emptied at the start watermark.</li>
 * <li>repair: the given keys read again from the source, by chunks of keys.</li>
 * <li>pause / resume: from the pause watermark on, the table's changes are held on the shadow;
 *     at the resume watermark they are applied, in order, and it streams again.</li>
 * <li>remove: taken out of the publication; at its watermark the stream stops applying its
 *     changes. The shadow table stays as it is.</li>
 * </ul>
 */
final class TableActions {

    /** The daemon is stopping: the request stays open for its next run. */
    static final class Stopped extends RuntimeException {
        Stopped(String message) {
            super(message);
        }
    }

    private static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;

    private final BackfillConfig config;
    private final Map<TableId, TableSpec> live;
    private final ShadowSink sink;
    private final TransformChain chain;
    private final Watermarks watermarks;
    private final Throttle throttle;
    private final BooleanSupplier stopping;

    TableActions(BackfillConfig config, Map<TableId, TableSpec> live, ShadowSink sink, TransformChain chain, Watermarks watermarks,
                 Throttle throttle, BooleanSupplier stopping) {
        this.config = config;
        this.live = live;
        this.sink = sink;
        this.chain = chain;
        this.watermarks = watermarks;
        this.throttle = throttle;
        this.stopping = stopping;
    }

    /** Carries out a request; returns what was done. {@link SetupException}: refused as asked, with the fix. */
    String perform(TableRequests.Request request, Consumer<String> progress) throws SQLException, InterruptedException {
        TableId t = request.table();
        try (Connection source = ConnectionFactory.open(config.source(), "source"); Connection shadow = ConnectionFactory.open(config.shadow(), "shadow")) {
            Optional<TableStates.Entry> state = Optional.ofNullable(new TableStates(config.pipeline()).read(shadow).get(t));
            return switch (request.action()) {
                case ADD -> add(source, shadow, t, state, progress);
                case RESNAPSHOT -> resnapshot(source, shadow, t, state, progress);
                case REPAIR -> repair(source, t, state, request.keys(), progress);
                case PAUSE -> pause(source, t, state);
                case RESUME -> resume(source, shadow, t, state);
                case REMOVE -> remove(source, t, state);
            };
        }
    }

    private String add(Connection source, Connection shadow, TableId t, Optional<TableStates.Entry> state, Consumer<String> progress)
            throws SQLException, InterruptedException {
        boolean continuing = copying(state, "add");
        if (!continuing && live.containsKey(t) && !is(state, TableStates.State.REMOVED)) {
            return t + " is already a table of pipeline " + config.pipeline() + "; nothing to add";
        }
        TableSpec spec = check(source, t);
        TableSpec shaped = shape(spec);
        TableAdder adder = new TableAdder(config.source(), config.shadow(), config.publication(), new CheckpointStore(config.pipeline()),
                throttle, chain, config.schema());
        if (!spec.hasPrimaryKey()) {
            long rows = TableAdder.whenLocked(t, () -> adder.add(spec, () -> join(spec, shaped)));
            new TableStates(config.pipeline()).member(shadow, t);
            return "added " + t + ": it has no key, so it was copied whole under a SHARE lock (writers waited for the copy): "
                    + String.format("%,d", rows) + " rows; it streams now";
        }
        // Created as the source has it (keys, indexes, constraints), as a table joining under a lock is.
        adder.prepareShadow(spec);
        join(spec, shaped);
        // Published before the copy's start watermark: every change after the start comes out of the slot.
        new SourceAdmin(source).ensurePublication(config.publication(), List.of(t));
        return "added " + t + ": " + copy(source, ChunkedCopy.Mode.ADD, spec, state, continuing, progress) + "; it streams now";
    }

    private void join(TableSpec spec, TableSpec shaped) {
        live.put(spec.id(), spec);
        sink.join(shaped);
        watermarks.added(spec.id());
    }

    private String resnapshot(Connection source, Connection shadow, TableId t, Optional<TableStates.Entry> state, Consumer<String> progress)
            throws SQLException, InterruptedException {
        boolean continuing = copying(state, "resnapshot");
        if (!continuing) {
            streaming(t, state, "copy again");
        }
        TableSpec spec = check(source, t);
        if (!spec.hasPrimaryKey()) {
            throw new SetupException("table " + t + " has no key, so it cannot be copied in chunks while cdc runs; stop cdc and run"
                    + " `table resnapshot " + t + "`, which copies it whole under a SHARE lock");
        }
        return "copied " + t + " again: " + copy(source, ChunkedCopy.Mode.RESNAPSHOT, spec, state, continuing, progress);
    }

    private String repair(Connection source, TableId t, Optional<TableStates.Entry> state, List<List<String>> keys, Consumer<String> progress)
            throws SQLException, InterruptedException {
        if (!copying(state, "repair")) {
            streaming(t, state, "repair");
        }
        TableSpec spec = check(source, t);
        if (!spec.hasPrimaryKey()) {
            throw new SetupException("table " + t + " has no key: its rows cannot be read again one by one; copy it again with"
                    + " `table resnapshot " + t + "` while cdc is stopped");
        }
        ChunkedCopy copy = new ChunkedCopy(config.source(), watermarks, spec, readColumns(spec), chain.filters(t),
                config.snapshot().chunkRows(), partitioned(source, t));
        long started = System.nanoTime();
        long applied = copy.copyKeys(keys == null ? List.of() : keys, progress(progress, "read again"));
        if (applied < 0) {
            throw new Stopped("the repair of " + t + " was interrupted");
        }
        return String.format("read %,d key(s) of %s again from the source in %.1f s, each applied at its chunk's watermark", keys.size(), t,
                (System.nanoTime() - started) / 1e9);
    }

    private String pause(Connection source, TableId t, Optional<TableStates.Entry> state) throws SQLException, InterruptedException {
        streaming(t, state, "pause");
        Lsn at = write(source, watermarks.pause(t));
        return "paused " + t + " at " + at + ": its changes are held on the shadow (in scry_backfill.held_changes, shown by `status`)"
                + " until `table resume " + t + "`";
    }

    private String resume(Connection source, Connection shadow, TableId t, Optional<TableStates.Entry> state)
            throws SQLException, InterruptedException {
        if (!is(state, TableStates.State.PAUSED)) {
            return t + " is not paused; nothing to resume";
        }
        HeldChanges.Held held = new HeldChanges(config.pipeline()).summary(shadow).getOrDefault(t, new HeldChanges.Held(0, 0));
        Lsn at = write(source, watermarks.resume(t));
        return String.format("resumed %s at %s: %,d held change(s) (%,d bytes) applied in order; it streams again", t, at, held.changes(),
                held.bytes());
    }

    private String remove(Connection source, TableId t, Optional<TableStates.Entry> state) throws SQLException, InterruptedException {
        if (is(state, TableStates.State.REMOVED) || !live.containsKey(t)) {
            return t + " is not a table of pipeline " + config.pipeline() + "; nothing to remove";
        }
        if (is(state, TableStates.State.PAUSED)) {
            throw new SetupException("table " + t + " is paused with changes held back; `table resume " + t + "` first (they are"
                    + " applied), then remove it");
        }
        if (is(state, TableStates.State.COPYING)) {
            throw new SetupException("table " + t + " is being copied; remove it once the copy is done (see `status`)");
        }
        new SourceAdmin(source).removeFromPublication(config.publication(), t);
        Lsn at = write(source, watermarks.remove(t));
        live.remove(t);
        return "removed " + t + " at " + at + ": out of the publication, its changes are no longer applied; its shadow table stays"
                + " as it is (drop it yourself if it should go). `table add " + t + "` brings it back, copied afresh";
    }

    /** Writes a watermark and waits until the shadow committed it; returns where it is. */
    private static Lsn write(Connection source, Watermarks.Mark mark) throws SQLException, InterruptedException {
        Lsn at = Watermarks.write(source, mark);
        mark.await();
        return at;
    }

    private String copy(Connection source, ChunkedCopy.Mode mode, TableSpec spec, Optional<TableStates.Entry> state, boolean continuing,
                        Consumer<String> progress) throws SQLException, InterruptedException {
        ChunkedCopy copy = new ChunkedCopy(config.source(), watermarks, spec, readColumns(spec), false, config.snapshot().chunkRows(),
                partitioned(source, spec.id()));
        long started = System.nanoTime();
        long rows = copy.copyTable(mode, continuing ? state.get().cursor() : null, continuing, progress(progress, "copied"));
        if (rows < 0) {
            throw new Stopped("the copy of " + spec.id() + " was interrupted; it goes on from its last chunk when the daemon runs again");
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        return String.format("%,d rows copied in %.1f s (%,.0f rows/s) in chunks of %,d rows between watermarks%s, no lock on the source"
                + " beyond each chunk's read", rows, seconds, rows / Math.max(seconds, 0.001), config.snapshot().chunkRows(),
                continuing ? ", continued from its last chunk" : "");
    }

    private ChunkedCopy.Progress progress(Consumer<String> sink, String verb) {
        return new ChunkedCopy.Progress() {
            private long last;

            @Override
            public void applied(long rows, long estimate) {
                long now = System.nanoTime();
                if (now - last >= PROGRESS_EVERY_NANOS) {
                    last = now;
                    sink.accept(estimate > 0 ? String.format("%,d of about %,d rows %s (%d%%)", rows, estimate, verb,
                            Math.min(100, rows * 100 / estimate)) : String.format("%,d rows %s", rows, verb));
                }
            }

            @Override
            public boolean stopRequested() {
                return stopping.getAsBoolean();
            }
        };
    }

    private List<String> readColumns(TableSpec spec) {
        java.util.Set<String> dropped = chain.droppedColumns(spec.id());
        return spec.columns().stream().map(ColumnSpec::name).filter(c -> !dropped.contains(c)).toList();
    }

    /** The table as start-up checks it: it exists, can be published safely, holds only types the pipeline carries. */
    private TableSpec check(Connection source, TableId t) throws SQLException {
        return new SourcePreflight(source, config.source().describe()).check(List.of(t), TransformChain.dropsColumn(config.transforms())).get(t);
    }

    private TableSpec shape(TableSpec spec) {
        try {
            return chain.shape(spec);
        }
        catch (IllegalArgumentException e) {
            throw new SetupException(e.getMessage(), e);
        }
    }

    /** Refuses what only a streaming table can do. */
    private void streaming(TableId t, Optional<TableStates.Entry> state, String what) {
        if (!live.containsKey(t) || is(state, TableStates.State.REMOVED)) {
            throw new SetupException("table " + t + " is not a table of pipeline " + config.pipeline() + "; `table add " + t + "` adds it");
        }
        if (is(state, TableStates.State.PAUSED)) {
            throw new SetupException("table " + t + " is paused; `table resume " + t + "` first, then " + what + " it");
        }
        if (is(state, TableStates.State.COPYING)) {
            throw new SetupException("table " + t + " is being copied (" + state.get().copyMode() + "); " + what + " it once that is"
                    + " done (see `status`)");
        }
    }

    private static boolean copying(Optional<TableStates.Entry> state, String mode) {
        return is(state, TableStates.State.COPYING) && mode.equals(state.get().copyMode());
    }

    private static boolean is(Optional<TableStates.Entry> state, TableStates.State s) {
        return state.isPresent() && state.get().state() == s;
    }

    private static boolean partitioned(Connection source, TableId t) throws SQLException {
        return new SourceCatalog(source).relation(t).map(r -> r.kind() == 'p').orElse(false);
    }
}
