package dev.scry.backfill.snapshot;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import dev.scry.backfill.checkpoint.SnapshotJournal;
import dev.scry.backfill.model.TableId;

/**
 * The post-data a snapshot still has to build, and which of it can be built now: an object whose
 * tables' rows are all in and whose dependencies are built (a foreign key after both its tables
 * and the key it references; an index attached to its parent's after both exist). The copy
 * workers take from it between parts, as pg_restore's do, so that the indexes of a table loaded
 * early are built while later tables are still copying.
 */
final class PostData {

    private final List<SnapshotJournal.Deferred> pending;
    private final Set<String> waiting = new HashSet<>();
    private final Set<TableId> loading;
    private final Set<String> building = new HashSet<>();

    /** @param loading the tables whose rows are still being copied; every other table's are in */
    PostData(List<SnapshotJournal.Deferred> pending, Set<TableId> loading) {
        this.pending = new ArrayList<>(pending);
        this.pending.forEach(d -> waiting.add(d.key()));
        this.loading = new LinkedHashSet<>(loading);
    }

    /** The next object that can be built now, marked as being built; empty if none can. */
    synchronized Optional<SnapshotJournal.Deferred> next() {
        for (SnapshotJournal.Deferred d : pending) {
            if (building.contains(d.key())) {
                continue;
            }
            boolean ready = d.needs().stream().noneMatch(loading::contains)
                    && d.dependsOn().stream().noneMatch(k -> waiting.contains(k));
            if (ready) {
                building.add(d.key());
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /** The object is built (committed); what waited for it may go. */
    synchronized void built(SnapshotJournal.Deferred d) {
        pending.remove(d);
        building.remove(d.key());
        waiting.remove(d.key());
        notifyAll();
    }

    /** Building the object failed; another worker may try it again. */
    synchronized void failed(SnapshotJournal.Deferred d) {
        building.remove(d.key());
        notifyAll();
    }

    /** Every row of {@code table} is in. */
    synchronized void loaded(TableId table) {
        loading.remove(table);
        notifyAll();
    }

    synchronized boolean isEmpty() {
        return pending.isEmpty();
    }

    /** Whether an object could be built now (without taking it). */
    synchronized boolean anyReady() {
        return pending.stream().anyMatch(d -> !building.contains(d.key()) && d.needs().stream().noneMatch(loading::contains)
                && d.dependsOn().stream().noneMatch(waiting::contains));
    }

    synchronized boolean anyBuilding() {
        return !building.isEmpty();
    }

    /** Waits (bounded) for something to change: an object built, a table loaded. */
    synchronized void await(long millis) throws InterruptedException {
        wait(millis);
    }

    synchronized void wake() {
        notifyAll();
    }
}
