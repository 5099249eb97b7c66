package dev.scry.backfill.source;

import dev.scry.backfill.model.Lsn;

/**
 * A replication slot as {@code pg_replication_slots} shows it.
 *
 * @param confirmedFlush the position up to which the consumer has confirmed changes (null before first use)
 * @param restart        the oldest WAL the slot still holds on the source
 * @param activePid      the walsender using it, or 0 when idle
 */
public record SlotInfo(String name, String plugin, String database, boolean active, int activePid,
                       Lsn confirmedFlush, Lsn restart) {
}
