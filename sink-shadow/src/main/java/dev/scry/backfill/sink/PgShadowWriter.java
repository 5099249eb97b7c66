package dev.scry.backfill.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

import dev.scry.backfill.checkpoint.CheckpointStore;
import dev.scry.backfill.checkpoint.TableCounts;
import dev.scry.backfill.model.ChangeBatch;
import dev.scry.backfill.model.ChangeEvent;
import dev.scry.backfill.model.Identifiers;
import dev.scry.backfill.model.SourcePosition;
import dev.scry.backfill.model.TableId;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.sink.ddl.CapturedDdl;

/**
 * The shadow writer for PostgreSQL: bulk loads through {@code COPY ... FROM STDIN} (binary or
 * text, as the caller chose), batches through the {@link BatchApplier}'s net-effect statements,
 * counts and checkpoint through the {@link CheckpointStore}.
 */
public final class PgShadowWriter implements ShadowWriter {

    private final CheckpointStore checkpoints;
    private final BatchApplier applier;

    /** A writer for bulk loads: it tracks no table's changes, and follows no schema change. */
    PgShadowWriter(String pipeline) {
        this(pipeline, Map.of(), SourceSchema.NONE, null);
    }

    /**
     * @param tables the shadow tables as they are now (see {@link ShadowSchema#current})
     * @param source the source's catalog, read when a schema change reaches the stream
     * @param ddl    schema changes captured on the source, applied where they come (null: none)
     */
    PgShadowWriter(String pipeline, Map<TableId, TableSpec> tables, SourceSchema source, CapturedDdl ddl) {
        this.checkpoints = new CheckpointStore(pipeline);
        this.applier = new BatchApplier(tables, new ApplyStatements(), new SchemaFollower(source), ddl);
    }

    @Override
    public RowCopy copy(Connection tx, TableId table, List<String> columns, CopyFormat format) throws SQLException {
        String names = columns.stream().map(Identifiers::quote).collect(Collectors.joining(", "));
        CopyIn in = tx.unwrap(PGConnection.class).getCopyAPI()
                .copyIn("COPY " + table.quoted() + " (" + names + ") FROM STDIN" + (format == CopyFormat.BINARY ? " (FORMAT binary)" : ""));
        return new RowCopy() {
            @Override
            public void write(byte[] data, int offset, int length) throws SQLException {
                in.writeToCopy(data, offset, length);
            }

            @Override
            public long end() throws SQLException {
                return in.endCopy();
            }

            @Override
            public void cancel() throws SQLException {
                if (in.isActive()) {
                    in.cancelCopy();
                }
            }
        };
    }

    @Override
    public void empty(Connection tx, TableId table) throws SQLException {
        try (Statement st = tx.createStatement()) {
            st.execute(ShadowSchema.emptying(tx, table));
        }
    }

    @Override
    public Map<TableId, TableCounts> apply(Connection tx, ChangeBatch batch, boolean rowAtATime) throws SQLException {
        Map<TableId, TableCounts> counts = applier.apply(tx, batch, rowAtATime);
        applier.send(tx);
        return counts;
    }

    @Override
    public Map<TableId, TableCounts> applyBeforeCheckpoint(Connection tx, ChangeBatch batch, boolean rowAtATime) throws SQLException {
        return applier.apply(tx, batch, rowAtATime);
    }

    @Override
    public void prepare(ChangeBatch batch) {
        applier.prepare(batch);
    }

    @Override
    public Map<TableId, TableCounts> applyMore(Connection tx, List<ChangeEvent> events, boolean rowAtATime) throws SQLException {
        return applier.applyMore(tx, events, rowAtATime);
    }

    @Override
    public Map<TableId, TableCounts> applyEach(Connection tx, ChangeBatch batch, Rejected rejected) throws SQLException {
        return applier.applyTolerant(tx, batch, rejected);
    }

    @Override
    public void count(Connection tx, Map<TableId, TableCounts> counts) throws SQLException {
        applier.send(tx);
        checkpoints.addCounts(tx, counts);
    }

    @Override
    public void checkpoint(Connection tx, String slot, SourcePosition position, Map<TableId, TableCounts> counts) throws SQLException {
        applier.sendWith(tx, checkpoints.writing(counts), (ps, first) -> checkpoints.bindWriting(tx, ps, first, slot, position, counts));
    }

    @Override
    public void committed() {
        applier.committed();
    }

    @Override
    public void join(TableSpec spec) {
        applier.join(spec);
    }
}
