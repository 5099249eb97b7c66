package dev.scry.backfill.sink.schema;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Orders objects so that each comes after every object of the list it depends on; among those
 * free to go, by kind (as pg_restore would) and then by key, so the order is the same on every
 * run. A dependency outside the list is taken as met (it exists already, or belongs to the other
 * section). A cycle, which PostgreSQL's catalog should not hold, is broken by kind order.
 */
final class DependencyOrder {

    private static final Comparator<SchemaObject> PRIORITY = Comparator.comparing((SchemaObject o) -> o.kind().ordinal())
            .thenComparing(SchemaObject::key);

    private DependencyOrder() {
    }

    static List<SchemaObject> sort(List<SchemaObject> objects) {
        Map<String, SchemaObject> byKey = new HashMap<>();
        objects.forEach(o -> byKey.put(o.key(), o));
        Map<String, Integer> waiting = new HashMap<>();
        Map<String, List<SchemaObject>> dependents = new HashMap<>();
        PriorityQueue<SchemaObject> ready = new PriorityQueue<>(PRIORITY);
        for (SchemaObject o : objects) {
            int n = 0;
            for (String dep : o.dependsOn()) {
                if (byKey.containsKey(dep) && !dep.equals(o.key())) {
                    n++;
                    dependents.computeIfAbsent(dep, k -> new ArrayList<>()).add(o);
                }
            }
            waiting.put(o.key(), n);
            if (n == 0) {
                ready.add(o);
            }
        }
        List<SchemaObject> out = new ArrayList<>(objects.size());
        Set<String> done = new java.util.HashSet<>();
        while (out.size() < objects.size()) {
            if (ready.isEmpty()) {
                // A cycle: let the first remaining object by kind go.
                objects.stream().filter(o -> !done.contains(o.key())).min(PRIORITY).ifPresent(ready::add);
            }
            SchemaObject next = ready.poll();
            if (!done.add(next.key())) {
                continue;
            }
            out.add(next);
            for (SchemaObject d : dependents.getOrDefault(next.key(), List.of())) {
                if (waiting.merge(d.key(), -1, Integer::sum) == 0 && !done.contains(d.key())) {
                    ready.add(d);
                }
            }
        }
        return out;
    }
}
