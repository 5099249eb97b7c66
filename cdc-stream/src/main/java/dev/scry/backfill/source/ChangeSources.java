package dev.scry.backfill.source;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.Lsn;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;

/**
 * The one place that decides which reader runs: from the settings ({@code stream.reader},
 * {@code snapshot.method}) and the checkpoint's offset. Everything else holds the {@link Choice}
 * it returns, asks it what the chosen reader carries, and gets a {@link ChangeSource} from it.
 */
public final class ChangeSources {

    private static final Logger LOG = LoggerFactory.getLogger(ChangeSources.class);

    private ChangeSources() {
    }

    /**
     * The reader for a run that starts from {@code offset} (the checkpoint's, empty without one).
     * Refuses, with the way out, an offset the configured reader cannot start from exactly.
     */
    public static Choice choose(StreamSettings settings, Optional<Map<String, Object>> offset) {
        StreamReader reader = settings.reader();
        if (reader == StreamReader.DEBEZIUM && offset.isPresent() && PositionCodec.overlapUntil(offset.get()).isPresent()) {
            // Only our reader skips the changes a continued snapshot's late parts already hold.
            LOG.info("pipeline {}: streaming with the pgoutput reader until the continued snapshot's overlap ends at {}; the"
                    + " Debezium reader takes over at the next start after it", settings.pipeline(),
                    PositionCodec.overlapUntil(offset.get()).get());
            reader = StreamReader.PGOUTPUT;
        }
        if (offset.isPresent() && reader == StreamReader.PGOUTPUT) {
            PositionCodec.forPgOutput(offset.get());
        }
        else if (offset.isPresent()) {
            PositionCodec.forDebezium(offset.get());
        }
        return new Choice(settings, reader);
    }

    /** The reader chosen for one run, with what it carries. */
    public static final class Choice {

        private final StreamSettings settings;
        private final StreamReader reader;

        private Choice(StreamSettings settings, StreamReader reader) {
            this.settings = settings;
            this.reader = reader;
        }

        /** Whether the Debezium engine touches the rows (its snapshot, or its stream), with its limits. */
        boolean throughEngine() {
            return reader == StreamReader.DEBEZIUM || settings.engineSnapshot();
        }

        /** Empty when the column is carried exactly by what reads it; otherwise why not (see {@link SupportedTypes}). */
        public Optional<String> whyUnsupported(ColumnSpec column, Set<String> heldTypes) {
            return SupportedTypes.whyUnsupported(column, heldTypes, throughEngine());
        }

        /**
         * Why tables cannot be copied, paused or removed while this reader streams (the watermarks
         * that do it come out of the pgoutput reader's stream), or empty when they can.
         */
        public Optional<String> whyNoTableOperations() {
            return reader == StreamReader.PGOUTPUT ? Optional.empty()
                    : Optional.of("the Debezium reader (stream.reader: debezium), whose stream carries no watermarks of ours, which"
                            + " copying, pausing or removing one table while the pipeline streams needs; set stream.reader: pgoutput"
                            + " for that (the pipeline changes reader without losing anything)");
        }

        /** Why DDL captured on the source (logical messages in the stream) cannot reach the shadow with this reader, or empty when it can. */
        public Optional<String> whyNoCapturedDdl() {
            return reader == StreamReader.PGOUTPUT && !settings.engineSnapshot() ? Optional.empty()
                    : Optional.of("needs the pgoutput reader (stream.reader: pgoutput, snapshot.method: copy); the Debezium engine"
                            + " does not pass our logical messages on");
        }

        /** Whether this run's stream carries {@link Watermarks} (see {@link #whyNoTableOperations()}). */
        public boolean carriesWatermarks() {
            return whyNoTableOperations().isEmpty();
        }

        /**
         * Requests the pgoutput stream from {@code offset} (the checkpoint's) now, for a run that
         * {@link #open}s from the same offset soon (see {@link EarlyStream}); null for the Debezium
         * reader, which starts its own, and for an offset with a snapshot's overlap.
         */
        public EarlyStream startEarly(Map<String, Object> offset) {
            if (reader != StreamReader.PGOUTPUT || PositionCodec.overlapUntil(offset).isPresent()) {
                return null;
            }
            return EarlyStream.start(settings, PositionCodec.forPgOutput(offset));
        }

        /** For log lines: {@code pgoutput} or {@code debezium}. */
        public String describe() {
            return reader.configName();
        }

        /** Preflight checks of the source with this reader's limits. */
        public SourcePreflight preflight(java.sql.Connection connection, String where) {
            return new SourcePreflight(connection, where, throughEngine());
        }

        /** A standby's problems with this reader (see {@link StandbyPreflight}). */
        public java.util.List<String> standbyProblems(java.sql.Connection c, String where, String publication,
                                                     java.util.Collection<TableId> tables) throws java.sql.SQLException {
            return StandbyPreflight.problems(c, where, publication, tables, throughEngine());
        }

        /**
         * Opens the reader.
         *
         * @param engineSnapshot  whether Debezium's snapshot runs first (then the engine reads, whatever streams later)
         * @param tables          the tracked tables; live, tables that join while streaming are added by the caller
         * @param committedOffset the offset the shadow committed last, in whichever reader's format; asked again as batches commit
         * @param overlap         reads a continued snapshot's late parts (the journal) when the offset carries an overlap
         * @param watermarks      this process's watermarks, or null (only when {@link #carriesWatermarks()})
         * @param early           a stream {@link #startEarly started early}, or null: the pgoutput reader takes it, else it is closed
         */
        public ChangeSource open(boolean engineSnapshot, Map<TableId, TableSpec> tables, Supplier<Optional<Map<String, Object>>> committedOffset,
                                 OverlapReader overlap, Watermarks watermarks, EarlyStream early, BatchSink sink,
                                 ChangeSource.StartListener started) {
            if (early != null && (engineSnapshot || reader != StreamReader.PGOUTPUT)) {
                early.close();
            }
            if (engineSnapshot) {
                return DebeziumSource.snapshotThenStream(settings, tables, debeziumView(committedOffset), sink, started);
            }
            Optional<Map<String, Object>> start = committedOffset.get();
            if (reader == StreamReader.DEBEZIUM) {
                LOG.info("pipeline {}: streaming with the Debezium reader{}", settings.pipeline(),
                        start.filter(PositionCodec::pgoutput).isPresent() ? " from the pgoutput reader's checkpoint" : "");
                return DebeziumSource.streamOnly(settings, tables, debeziumView(committedOffset), sink, started);
            }
            Optional<Map<String, Object>> offset = start.map(PositionCodec::forPgOutput);
            if (start.isPresent() && !PositionCodec.pgoutput(start.get())) {
                LOG.info("pipeline {}: streaming with the pgoutput reader from the Debezium reader's checkpoint", settings.pipeline());
            }
            SnapshotOverlap late = null;
            Optional<Lsn> until = offset.flatMap(PositionCodec::overlapUntil);
            if (until.isPresent()) {
                late = overlap.read(PositionCodec.restart(offset.get()), until.get());
            }
            return new PgOutputSource(settings, tables, offset, late, watermarks, early, sink, started);
        }

        private static Supplier<Optional<Map<String, Object>>> debeziumView(Supplier<Optional<Map<String, Object>>> committed) {
            return () -> committed.get().map(PositionCodec::forDebezium);
        }
    }

    /** Reads a continued snapshot's late parts from the snapshot journal (which lives downstream, on the shadow). */
    @FunctionalInterface
    public interface OverlapReader {
        SnapshotOverlap read(Lsn restart, Lsn until);
    }
}
