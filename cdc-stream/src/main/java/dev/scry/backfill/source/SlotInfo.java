package dev.scry.backfill.source;

import dev.scry.backfill.model.Lsn;

/**
 * A replication slot as {@code pg_replication_slots} shows it.
 *
 * @param confirmedFlush the position up to which the consumer has confirmed changes (null before first use)
 * @param restart        the oldest WAL the slot still holds on the source
 * @param activePid      the walsender using it, or 0 when idle
 * @param failover       whether standbys keep a synchronized copy of it (PostgreSQL 17 failover slots)
 * @param synced         whether it is such a copy, on a standby or on the standby promoted since
 * @param invalidated    why the server gave it up (WAL removed, rows it needed vacuumed on the primary, wal_level
 *                       lowered), or null while it is usable
 */
public record SlotInfo(String name, String plugin, String database, boolean active, int activePid,
                       Lsn confirmedFlush, Lsn restart, boolean failover, boolean synced, String invalidated) {

    public SlotInfo(String name, String plugin, String database, boolean active, int activePid, Lsn confirmedFlush, Lsn restart) {
        this(name, plugin, database, active, activePid, confirmedFlush, restart, false, false, null);
    }
}
