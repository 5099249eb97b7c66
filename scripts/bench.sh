#!/usr/bin/env bash
# Side-by-side benchmark on the local pair (not part of the tests). Generates a data set, then
# measures, three times each, and prints medians and ratios:
#   snapshot rows/s:   backfill snapshot  vs  the binary COPY pipe  vs  native initial table sync
#   catch-up changes/s: backfill cdc --exit-when-caught-up  vs  a native subscription, same backlog
#   peak RSS of the backfill JVM
# SCALE multiplies the data set (1 = the issue's: 1M mixed rows, 2M narrow rows, 50k rows of 4 KB
# text; backlog 1M changes). The figures also go to bench-results/<timestamp>.txt.
# Not measured yet: the one-row-per-transaction backlog variant, steady-state lag at 5,000
# changes/s, and the raw Debezium engine with a do-nothing consumer.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}
SOURCE_PORT=${PG_SOURCE_PORT:-54320}
SHADOW_PORT=${PG_SHADOW_PORT:-54321}
DB=bench
OUT_DIR=$ROOT/bench-results
mkdir -p "$OUT_DIR"
OUT=$OUT_DIR/$(date +%Y%m%d-%H%M%S).txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

scripts/pg-local.sh start >/dev/null
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PSQL=$BIN/psql
q() { local port=$1 db=$2; shift 2; "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
src() { q "$SOURCE_PORT" "$DB" "$@"; }
shd() { q "$SHADOW_PORT" "$DB" "$@"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
say() { echo "$*" | tee -a "$OUT"; }

MIXED=$((1000000 * SCALE)); NARROW=$((2000000 * SCALE)); WIDE=$((50000 * SCALE)); BACKLOG=$((1000000 * SCALE))
ROWS=$((MIXED + NARROW + WIDE))
CONFIG=$WORK/bench.yaml
cat > "$CONFIG" <<YAML
pipeline: bench
source: {host: 127.0.0.1, port: $SOURCE_PORT, database: $DB, user: postgres}
shadow: {host: 127.0.0.1, port: $SHADOW_PORT, database: $DB, user: postgres}
tables: [public.mixed, public.narrow, public.wide]
batch: {max-rows: 4096, max-delay-ms: 100}
metrics: {port: 0}
YAML
SCHEMA="CREATE TABLE mixed (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, flag boolean, doc jsonb, tags text[]);
CREATE TABLE narrow (id bigint PRIMARY KEY, v int);
CREATE TABLE wide (id bigint PRIMARY KEY, body text);"

fresh_shadow() {
  scripts/backfill teardown -c "$CONFIG" --drop-metadata >/dev/null 2>&1 || true
  q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  q "$SHADOW_PORT" postgres -c "CREATE DATABASE $DB"
  shd -c "$SCHEMA"
}

say "== scry-backfill bench, SCALE=$SCALE ($MIXED mixed, $NARROW narrow, $WIDE x 4 KB rows), $RUNS runs each, $(nproc) cores"
q "$SOURCE_PORT" postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench%' AND NOT active" >/dev/null
q "$SOURCE_PORT" postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
q "$SOURCE_PORT" postgres -c "CREATE DATABASE $DB"
src -c "$SCHEMA"
src -c "INSERT INTO mixed SELECT g, 'name ' || g, g / 100.0, timestamptz '2024-01-01' + g * interval '1 second', g % 2 = 0,
               jsonb_build_object('k', g, 'v', 'value ' || g), ARRAY['a' || g % 10, 'b'] FROM generate_series(1, $MIXED) g"
src -c "INSERT INTO narrow SELECT g, g % 1000 FROM generate_series(1, $NARROW) g"
src -c "INSERT INTO wide SELECT g, repeat(md5(g::text), 128) FROM generate_series(1, $WIDE) g"
src -c "VACUUM ANALYZE"
MB=$(src -c "SELECT round(sum(pg_table_size(c))::numeric / 1048576, 1) FROM unnest(ARRAY['mixed', 'narrow', 'wide']::regclass[]) c")
say "data set: $ROWS rows, $MB MB on the source"

# --- snapshot ---
pipe=(); native=(); ours=(); rss=()
for run in $(seq 1 "$RUNS"); do
  fresh_shadow
  t0=$(now)
  for t in mixed narrow wide; do
    src -c "COPY $t TO STDOUT (FORMAT binary)" | shd -c "COPY $t FROM STDIN (FORMAT binary)"
  done
  pipe+=("$(calc "$ROWS / ($(now) - $t0)")")

  fresh_shadow
  src -c "DROP PUBLICATION IF EXISTS bench_native; CREATE PUBLICATION bench_native FOR TABLE mixed, narrow, wide"
  t0=$(now)
  shd -c "CREATE SUBSCRIPTION bench_native CONNECTION 'host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=postgres'
          PUBLICATION bench_native WITH (slot_name = bench_native)"
  until [[ $(shd -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == 0 ]]; do sleep 0.2; done
  native+=("$(calc "$ROWS / ($(now) - $t0)")")
  shd -c "DROP SUBSCRIPTION bench_native"

  fresh_shadow
  t0=$(now)
  scripts/backfill snapshot -c "$CONFIG" > "$WORK/snap.out" 2>"$WORK/snap.err" &
  pid=$!
  peak=0
  while kill -0 "$pid" 2>/dev/null; do
    # scripts/backfill execs java, so the process is the JVM itself; VmHWM is its peak resident set.
    kb=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [[ -n $kb && $kb -gt $peak ]] && peak=$kb
    sleep 0.2
  done
  wait "$pid"
  ours+=("$(calc "$ROWS / ($(now) - $t0)")")
  rss+=("$((peak / 1024))")
done
p=$(median "${pipe[@]}"); n=$(median "${native[@]}"); o=$(median "${ours[@]}")
say ""
say "snapshot rows/s (median of $RUNS; runs: pipe ${pipe[*]} | native ${native[*]} | backfill ${ours[*]})"
say "  binary COPY pipe      $p"
say "  native initial sync   $n"
say "  backfill snapshot     $o   = $(calc "$o / $p") x the COPY pipe, $(calc "$o / $n") x native sync (targets: >= 0.8, >= 1.0)"
say "  peak RSS of the backfill JVM during the snapshot: $(median "${rss[@]}") MB (target < 1024)"

# --- streaming catch-up on a backlog of updates in 100-row transactions ---
catch_ours=(); catch_native=()
for run in $(seq 1 "$RUNS"); do
  fresh_shadow
  scripts/backfill snapshot -c "$CONFIG" >/dev/null 2>&1
  src -c "DROP PUBLICATION IF EXISTS bench_native; CREATE PUBLICATION bench_native FOR TABLE mixed, narrow, wide"
  src -c "SELECT pg_create_logical_replication_slot('bench_native', 'pgoutput')" >/dev/null
  # The backlog: BACKLOG updates of narrow rows, 100 per transaction.
  for ((i = 0; i < BACKLOG / 100; i += 500)); do
    src -c "DO \$\$ BEGIN FOR j IN $i..$((i + 499)) LOOP UPDATE narrow SET v = v + 1 WHERE id > j * 100 AND id <= j * 100 + 100; COMMIT; END LOOP; END \$\$"
  done
  target=$(src -c "SELECT pg_current_wal_lsn()")
  t0=$(now)
  scripts/backfill cdc -c "$CONFIG" --exit-when-caught-up >/dev/null 2>&1
  catch_ours+=("$(calc "$BACKLOG / ($(now) - $t0)")")

  # Native: a subscription on the same backlog, from the slot made before it.
  q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS ${DB}_native WITH (FORCE)"
  q "$SHADOW_PORT" postgres -c "CREATE DATABASE ${DB}_native"
  q "$SHADOW_PORT" "${DB}_native" -c "$SCHEMA"
  t0=$(now)
  q "$SHADOW_PORT" "${DB}_native" -c "CREATE SUBSCRIPTION bench_native CONNECTION 'host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=postgres'
          PUBLICATION bench_native WITH (slot_name = bench_native, create_slot = false, copy_data = false)"
  until [[ $(src -c "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'bench_native'") == t ]]; do sleep 0.2; done
  catch_native+=("$(calc "$BACKLOG / ($(now) - $t0)")")
  q "$SHADOW_PORT" "${DB}_native" -c "DROP SUBSCRIPTION bench_native"
done
co=$(median "${catch_ours[@]}"); cn=$(median "${catch_native[@]}")
say ""
say "catch-up changes/s on $BACKLOG updates in 100-row transactions (median of $RUNS; runs: backfill ${catch_ours[*]} | native ${catch_native[*]})"
say "  native subscription   $cn"
say "  backfill cdc          $co   = $(calc "$co / $cn") x native (target >= 0.8); includes the JVM and engine start"
scripts/backfill teardown -c "$CONFIG" --drop-metadata >/dev/null 2>&1 || true
say ""
say "figures written to $OUT"
