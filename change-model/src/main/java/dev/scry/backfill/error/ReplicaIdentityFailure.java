package dev.scry.backfill.error;

import dev.scry.backfill.model.TableId;

/**
 * A change the stream cannot apply because of the replica identity the table had on the source
 * when the change was made: an UPDATE or DELETE of a table without a key that arrived without its
 * whole old row, or one of a keyed table without its key. The change is in the WAL as it is, so
 * no later setting on the source can bring it back; the way on is to copy the table again and
 * skip its changes made before the copy. The pipeline stops with the checkpoint before the change.
 */
public class ReplicaIdentityFailure extends PipelineFailure {

    private final TableId table;

    public ReplicaIdentityFailure(TableId table, String message) {
        super(message);
        this.table = table;
    }

    /** The table as the stream publishes it (a partitioned table, for a change to its partition). */
    public TableId table() {
        return table;
    }
}
