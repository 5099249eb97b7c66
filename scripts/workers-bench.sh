#!/usr/bin/env bash
# Snapshot workers on one machine (not part of the tests): the same copy snapshot taken RUNS times
# (default 3) by one process with snapshot.parallelism 3, and RUNS times by a coordinating
# `snapshot` with parallelism 1 plus two `snapshot-worker`s with parallelism 1 each (three copies
# at a time either way), each on a fresh shadow database; prints the medians and the ratio of the
# rates (coordinated / one process). On one machine the parts share its cores and disks, so no
# gain is expected: the ratio shows what claiming parts through the journal, importing the
# exported snapshot in other processes and their start-up cost (>= 0.9: small).
# ROWS (default 6,000,000 rows of about 90 bytes) and CHUNK_MB (default 16) size the data set and
# the parts; the local pair (scripts/pg-local.sh; PG_SOURCE_PORT, PG_SHADOW_PORT, PG_LOCAL_DIR move
# it). Wall times are the `snapshot` command's, its JVM's start included; the workers are started
# before it and wait for its export (--wait-s), as they would on other machines (a Job started with
# the pipeline), so their own start-up is not timed (about 2 s of CPU each, which on two cores
# would be charged to the snapshot). Figures also go to bench-results/workers-<timestamp>.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-3}
ROWS=${ROWS:-6000000}
CHUNK_MB=${CHUNK_MB:-16}
SOURCE_PORT=${PG_SOURCE_PORT:-54320}
SHADOW_PORT=${PG_SHADOW_PORT:-54321}
DB=wbench
OUT_DIR=$ROOT/bench-results
mkdir -p "$OUT_DIR"
OUT=$OUT_DIR/workers-$(date +%Y%m%d-%H%M%S).txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

scripts/pg-local.sh start >/dev/null
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
q() { local port=$1 db=$2; shift 2; "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
src() { q "$SOURCE_PORT" "$DB" "$@"; }
shd() { q "$SHADOW_PORT" "$DB" "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
say() { echo "$*" | tee -a "$OUT"; }

config() {
  cat > "$WORK/$1.yaml" <<YAML
pipeline: wbench
source: {host: 127.0.0.1, port: $SOURCE_PORT, database: $DB, user: postgres}
shadow: {host: 127.0.0.1, port: $SHADOW_PORT, database: $DB, user: postgres}
tables: [public.orders, public.events]
snapshot: {chunk-mb: $CHUNK_MB, parallelism: $2}
metrics: {port: 0}
YAML
}
config single 3
config coordinated 1

fresh_shadow() {
  scripts/backfill teardown -c "$WORK/single.yaml" --drop-metadata >/dev/null 2>&1 || true
  q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  q "$SHADOW_PORT" postgres -c "CREATE DATABASE $DB"
  q "$SOURCE_PORT" postgres -c "CHECKPOINT"
  q "$SHADOW_PORT" postgres -c "CHECKPOINT"
}

q "$SOURCE_PORT" postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'backfill_wbench%' AND NOT active" >/dev/null
q "$SOURCE_PORT" postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
q "$SOURCE_PORT" postgres -c "CREATE DATABASE $DB"
src -c "CREATE TABLE orders (id bigint PRIMARY KEY, customer int, note text, amount numeric(12,2), at timestamptz);
CREATE TABLE events (id bigint PRIMARY KEY, order_id bigint, kind text, body jsonb)"
src -c "INSERT INTO orders SELECT g, g % 9973, 'note ' || md5(g::text), g / 100.0, timestamptz '2024-01-01' + g * interval '1 s'
        FROM generate_series(1, $ROWS / 2) g"
src -c "INSERT INTO events SELECT g, g / 2, 'kind ' || g % 7, jsonb_build_object('n', g) FROM generate_series(1, $ROWS / 2) g"
src -c "VACUUM ANALYZE"
MB=$(src -c "SELECT round(sum(pg_table_size(c))::numeric / 1048576, 1) FROM unnest(ARRAY['orders', 'events']::regclass[]) c")
say "== snapshot workers bench: $ROWS rows, $MB MB on the source, parts of $CHUNK_MB MB, $RUNS runs each, $(nproc) cores"

# An untimed run first: the launcher's class-data archives for `snapshot` and `snapshot-worker` get recorded.
fresh_shadow
scripts/backfill snapshot -c "$WORK/coordinated.yaml" >"$WORK/warm.log" 2>&1 &
warm=$!
scripts/backfill snapshot-worker -c "$WORK/coordinated.yaml" --wait-s 300 >"$WORK/warm-worker.log" 2>&1 || true
wait $warm

single=(); coordinated=(); parts_by=""
for run in $(seq 1 "$RUNS"); do
  fresh_shadow
  start=$(now)
  scripts/backfill snapshot -c "$WORK/single.yaml" >"$WORK/single.log" 2>&1
  single+=("$(calc "$(now) - $start")")
  rows=$(shd -c "SELECT sum(rows) FROM scry_backfill.snapshot_parts")
  [[ $rows == "$ROWS" ]] || { echo "one process copied $rows rows, not $ROWS" >&2; exit 1; }

  fresh_shadow
  scripts/backfill snapshot-worker -c "$WORK/coordinated.yaml" --wait-s 300 >"$WORK/worker1.log" 2>&1 &
  w1=$!
  scripts/backfill snapshot-worker -c "$WORK/coordinated.yaml" --wait-s 300 >"$WORK/worker2.log" 2>&1 &
  w2=$!
  # Both workers up and waiting (each holds a shadow connection named for it) before the snapshot starts.
  for _ in $(seq 1 600); do
    [[ $(q "$SHADOW_PORT" postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
          AND application_name = 'scry-backfill snapshot-worker shadow wbench'") -ge 2 ]] && break
    sleep 0.1
  done
  start=$(now)
  scripts/backfill snapshot -c "$WORK/coordinated.yaml" >"$WORK/coordinated.log" 2>&1
  coordinated+=("$(calc "$(now) - $start")")
  wait $w1 $w2
  rows=$(shd -c "SELECT sum(rows) FROM scry_backfill.snapshot_parts")
  [[ $rows == "$ROWS" ]] || { echo "the coordinated snapshot copied $rows rows, not $ROWS" >&2; exit 1; }
  parts_by=$(shd -c "SELECT string_agg(split_part(copied_by, '@', 1) || ' ' || n, ', ' ORDER BY copied_by) FROM
                     (SELECT copied_by, count(*) n FROM scry_backfill.snapshot_parts GROUP BY 1) p")
  say "run $run: one process ${single[-1]} s; coordinator + 2 workers ${coordinated[-1]} s (parts: $parts_by)"
done
ms=$(median "${single[@]}"); mc=$(median "${coordinated[@]}")
say "one process (parallelism 3):                 median $ms s, $(calc "$ROWS / $ms") rows/s"
say "coordinator + 2 workers (parallelism 1 each): median $mc s, $(calc "$ROWS / $mc") rows/s"
say "ratio (coordinated rate / one process's): $(calc "$ms / $mc")"
scripts/backfill teardown -c "$WORK/single.yaml" --drop-metadata >/dev/null 2>&1 || true
