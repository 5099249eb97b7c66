package dev.scry.backfill.source;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

import dev.scry.backfill.model.ConnectionSettings;
import dev.scry.backfill.model.TableSelector;

/**
 * What the source stage needs, validated by the configuration loader before it gets here.
 *
 * @param pipeline          the pipeline id; names the engine and its offsets
 * @param source            the source database
 * @param tables            the configured tables and patterns, in configuration order
 * @param slot              the logical replication slot
 * @param publication       the publication the slot streams
 * @param maxBatchRows      the most changes one shadow transaction applies
 * @param maxBatchDelay     how long a batch may wait to fill before it is applied
 * @param heartbeatInterval how often the engine reports its position while the tables are idle
 * @param slotCreation      how the slot is created when it is missing (as a failover slot or not)
 * @param reader            which reader streams ({@code stream.reader})
 * @param engineSnapshot    whether the Debezium engine takes the snapshot ({@code snapshot.method: debezium}): its
 *                          limits then hold for the tables whichever reader streams after it
 */
public record StreamSettings(String pipeline, ConnectionSettings source, List<TableSelector> tables, String slot,
                             String publication, int maxBatchRows, Duration maxBatchDelay, Duration heartbeatInterval,
                             SlotCreation slotCreation, StreamReader reader, boolean engineSnapshot) {

    public StreamSettings(String pipeline, ConnectionSettings source, List<TableSelector> tables, String slot, String publication,
                          int maxBatchRows, Duration maxBatchDelay, Duration heartbeatInterval) {
        this(pipeline, source, tables, slot, publication, maxBatchRows, maxBatchDelay, heartbeatInterval, new SlotCreation(true),
                StreamReader.PGOUTPUT, false);
    }

    public StreamSettings {
        Objects.requireNonNull(pipeline, "pipeline");
        Objects.requireNonNull(source, "source");
        tables = List.copyOf(tables);
        Objects.requireNonNull(slot, "slot");
        Objects.requireNonNull(publication, "publication");
        Objects.requireNonNull(slotCreation, "slotCreation");
        Objects.requireNonNull(reader, "reader");
        if (maxBatchRows < 1) {
            throw new IllegalArgumentException("maxBatchRows must be >= 1");
        }
        if (maxBatchDelay.isNegative() || heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
            throw new IllegalArgumentException("batch delay must be >= 0 and heartbeat interval > 0");
        }
    }
}
