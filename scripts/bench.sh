#!/usr/bin/env bash
# Side-by-side benchmark on the local pair (not part of the tests). Generates a data set, then
# measures, RUNS times each, and prints medians and ratios:
#   snapshot rows/s and MB/s: backfill snapshot  vs  the binary COPY pipe  vs  native initial table sync
#   catch-up changes/s on a backlog (updates, inserts, deletes) in 100-row transactions, and on one in
#     one-row transactions: backfill cdc --exit-when-caught-up  vs  a native subscription  vs  the raw
#     Debezium engine with a consumer that does nothing, all three on the same backlog
#   steady-state end-to-end lag p50/p99 at 5,000 changes/s for LAG_SECONDS (default 60)
#   peak RSS and peak heap used of the backfill JVM
#   full-schema snapshot rows/s: the same tables with secondary indexes, foreign keys and a partitioned
#     table (database bench_full): backfill snapshot  vs  pg_dump -Fd -j N then pg_restore -j N (N =
#     snapshot.parallelism, 2), the tool a user would otherwise pick
# SCALE multiplies the data set (1 = the issue's: 1M mixed rows, 2M narrow rows, 50k rows of 4 KB
# text; backlogs of 1M changes). Wall times include the JVM's start for backfill and the raw
# engine alike. The figures also go to bench-results/<timestamp>.txt. ONLY (a comma-separated list
# of snapshot, catchup100, catchup1, lag, fullschema; default all) runs some of the measures. SSLMODE (default
# prefer, which the local pair answers with TLS) is used by every connection of all three: psql,
# the native subscription and backfill. Before each timed run both clusters take a CHECKPOINT, so
# that no run pays for writing out the previous one's load.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCALE=${SCALE:-1}
SSLMODE=${SSLMODE:-prefer}
export PGSSLMODE=$SSLMODE
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

scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { printf "%d", n * s }'; }
MIXED=$(scaled 1000000); NARROW=$(scaled 2000000); WIDE=$(scaled 50000); BACKLOG=$(( $(scaled 1000000) / 1000 * 1000 ))
ROWS=$((MIXED + NARROW + WIDE))
LAG_SECONDS=${LAG_SECONDS:-60}
ONLY=${ONLY:-snapshot,catchup100,catchup1,lag,fullschema}
runs_part() { [[ ",$ONLY," == *",$1,"* ]]; }
JAR=$ROOT/backfill-app/target/scry-backfill.jar
CONFIG=$WORK/bench.yaml
cat > "$CONFIG" <<YAML
pipeline: bench
source: {host: 127.0.0.1, port: $SOURCE_PORT, database: $DB, user: postgres, sslmode: $SSLMODE}
shadow: {host: 127.0.0.1, port: $SHADOW_PORT, database: $DB, user: postgres, sslmode: $SSLMODE}
tables: [public.mixed, public.narrow, public.wide, public.lag]
batch: {max-rows: 4096, max-delay-ms: 100}
metrics: {port: 0}
YAML
SCHEMA="CREATE TABLE mixed (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, flag boolean, doc jsonb, tags text[]);
CREATE TABLE narrow (id bigint PRIMARY KEY, v int);
CREATE TABLE wide (id bigint PRIMARY KEY, body text);
CREATE TABLE lag (id bigserial PRIMARY KEY, written_at timestamptz NOT NULL, v int);"
# On the shadow, an ALWAYS trigger stamps the moment each lag row is applied (same machine, same clock).
LAG_PROBE="CREATE TABLE lag_seen (id bigint, written_at timestamptz, seen_at timestamptz);
CREATE FUNCTION lag_seen() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
  INSERT INTO lag_seen VALUES (NEW.id, NEW.written_at, clock_timestamp()); RETURN NULL; END \$\$;
CREATE TRIGGER lag_seen AFTER INSERT ON lag FOR EACH ROW EXECUTE FUNCTION lag_seen();
ALTER TABLE lag ENABLE ALWAYS TRIGGER lag_seen;"

# Both clusters write out what earlier runs left dirty, so that a run is not charged for it.
settle() {
  q "$SOURCE_PORT" postgres -c "CHECKPOINT"
  q "$SHADOW_PORT" postgres -c "CHECKPOINT"
}

# The COPY pipe and native replication need the tables on the shadow; backfill creates its own
# (keys built after the load) and gets only the lag table with its probe beforehand.
fresh_shadow() {
  scripts/backfill teardown -c "$CONFIG" --drop-metadata >/dev/null 2>&1 || true
  q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  q "$SHADOW_PORT" postgres -c "CREATE DATABASE $DB"
  if [[ ${1:-} == backfill ]]; then
    shd -c "CREATE TABLE lag (id bigserial PRIMARY KEY, written_at timestamptz NOT NULL, v int)"
  else
    shd -c "$SCHEMA"
  fi
  shd -c "$LAG_PROBE"
}

# Samples a running JVM until it exits: peak resident set (VmHWM, MB), and peak heap used (MB): the
# largest occupancy before a collection in its GC log (BACKFILL_JAVA_OPTS below). Sampling with
# jstat would start a JVM every time and take CPU from what is measured.
# The raw engine runs with the same JVM options as backfill (the launcher's defaults unless
# BACKFILL_JAVA_OPTS is set), so that the two rates compare the code, not the collector.
eval "$(grep '^BACKFILL_JAVA_DEFAULTS=' scripts/backfill)"
JAVA_OPTS=${BACKFILL_JAVA_OPTS-$BACKFILL_JAVA_DEFAULTS}
export BACKFILL_JAVA_OPTS="$JAVA_OPTS -Xlog:gc:file=$WORK/gc.log"
PEAK_RSS=0; PEAK_HEAP=0
watch_jvm() {
  local pid=$1 kb
  PEAK_RSS=0
  while kill -0 "$pid" 2>/dev/null; do
    read -r _ kb _ < <(grep VmHWM "/proc/$pid/status" 2>/dev/null) || true
    [[ -n ${kb:-} && $kb -gt $PEAK_RSS ]] && PEAK_RSS=$kb
    sleep 0.2
  done
  PEAK_RSS=$((PEAK_RSS / 1024))
  # No collection at all: the heap never filled its young generation (reported as 0).
  PEAK_HEAP=$({ grep -o '[0-9]*M->' "$WORK/gc.log" 2>/dev/null || true; } | sed 's/M->//' | sort -n | tail -n 1)
  PEAK_HEAP=${PEAK_HEAP:-0}
  rm -f "$WORK/gc.log"
}

say "== scry-backfill bench, SCALE=$SCALE ($MIXED mixed, $NARROW narrow, $WIDE x 4 KB rows), $RUNS runs each, $(nproc) cores, sslmode $SSLMODE, JVM: $JAVA_OPTS"
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

# The launcher keeps a class-data archive per command, recorded by the command's first run after a
# build and adopted by the next launch (scripts/backfill): an untimed first snapshot and catch-up
# record theirs, so the timed runs measure an installed backfill, not its first start. The first
# snapshot's time is printed as well.
fresh_shadow backfill
settle
t0=$(now)
scripts/backfill snapshot -c "$CONFIG" >/dev/null 2>"$WORK/first.err" || { cat "$WORK/first.err"; exit 1; }
first=$(calc "$ROWS / ($(now) - $t0)")
scripts/backfill cdc -c "$CONFIG" --exit-when-caught-up >/dev/null 2>"$WORK/first.err" || { cat "$WORK/first.err"; exit 1; }
scripts/backfill status -c "$CONFIG" >/dev/null

# --- snapshot ---
pipe=(); native=(); ours=(); rss=(); heap=()
if runs_part snapshot; then
for run in $(seq 1 "$RUNS"); do
  fresh_shadow
  settle
  t0=$(now)
  for t in mixed narrow wide; do
    src -c "COPY $t TO STDOUT (FORMAT binary)" | shd -c "COPY $t FROM STDIN (FORMAT binary)"
  done
  pipe+=("$(calc "$ROWS / ($(now) - $t0)")")

  fresh_shadow
  src -c "DROP PUBLICATION IF EXISTS bench_native; CREATE PUBLICATION bench_native FOR TABLE mixed, narrow, wide"
  settle
  t0=$(now)
  shd -c "CREATE SUBSCRIPTION bench_native CONNECTION 'host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=postgres sslmode=$SSLMODE'
          PUBLICATION bench_native WITH (slot_name = bench_native)"
  until [[ $(shd -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == 0 ]]; do sleep 0.2; done
  native+=("$(calc "$ROWS / ($(now) - $t0)")")
  shd -c "DROP SUBSCRIPTION bench_native"

  fresh_shadow backfill
  settle
  t0=$(now)
  # scripts/backfill execs java, so $! is the JVM itself.
  scripts/backfill snapshot -c "$CONFIG" > "$WORK/snap.out" 2>"$WORK/snap.err" &
  pid=$!
  watch_jvm "$pid"
  wait "$pid" || { cat "$WORK/snap.err"; exit 1; }
  ours+=("$(calc "$ROWS / ($(now) - $t0)")")
  rss+=("$PEAK_RSS"); heap+=("$PEAK_HEAP")
done
p=$(median "${pipe[@]}"); n=$(median "${native[@]}"); o=$(median "${ours[@]}")
say ""
say "snapshot rows/s (median of $RUNS; runs: pipe ${pipe[*]} | native ${native[*]} | backfill ${ours[*]})"
mbs() { calc "$1 * $MB / $ROWS"; }
say "  binary COPY pipe      $p rows/s  $(mbs "$p") MB/s"
say "  native initial sync   $n rows/s  $(mbs "$n") MB/s"
say "  backfill snapshot     $o rows/s  $(mbs "$o") MB/s  = $(calc "$o / $p") x the COPY pipe, $(calc "$o / $n") x native sync (targets: >= 0.8, >= 1.0)"
say "  (the first backfill snapshot after a build, which records the launcher's class-data archive: $first rows/s)"
say "  backfill JVM during the snapshot: peak RSS $(median "${rss[@]}") MB (target < 1024), peak heap used $(median "${heap[@]}") MB"
fi

# --- streaming catch-up: the same backlog for backfill, the raw engine and a native subscription ---
# The backlog: BACKLOG changes of the narrow table, per ten transactions (or rows) eight updates,
# one insert and one delete; TX_ROWS rows per transaction (100, or 1 for the one-row variant).
make_backlog() {
  local tx_rows=$1 step=$((100000 / $1))
  for ((i = 0; i < BACKLOG / tx_rows; i += step)); do
    src -c "DO \$\$ DECLARE b bigint; BEGIN FOR j IN $i..$((i + step - 1)) LOOP b := j * $tx_rows;
      CASE j % 10 WHEN 8 THEN INSERT INTO narrow SELECT $NARROW + b + g, g FROM generate_series(1, $tx_rows) g;
                  WHEN 9 THEN DELETE FROM narrow WHERE id > b AND id <= b + $tx_rows;
                  ELSE UPDATE narrow SET v = v + 1 WHERE id > b AND id <= b + $tx_rows; END CASE;
      COMMIT; END LOOP; END \$\$"
  done
}
restore_narrow() {
  src -c "DELETE FROM narrow WHERE id > $NARROW; INSERT INTO narrow SELECT g, g % 1000 FROM generate_series(1, $NARROW) g ON CONFLICT DO NOTHING"
}
catch_up() {
  local tx_rows=$1 label=$2
  local ours=() native=() raw=() rss=() heap=()
  local nat="q $SHADOW_PORT ${DB}_native"
  for run in $(seq 1 "$RUNS"); do
    restore_narrow
    fresh_shadow backfill
    scripts/backfill snapshot -c "$CONFIG" >/dev/null 2>&1
    # The native subscriber starts where ours does: its own copy of the table (initial sync), then
    # the subscription is disabled while the backlog is written, so both apply it to the same rows.
    # (Applied to empty tables, native replication would skip every update and delete as a missing row.)
    q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS ${DB}_native WITH (FORCE)"
    q "$SHADOW_PORT" postgres -c "CREATE DATABASE ${DB}_native"
    $nat -c "$SCHEMA"
    src -c "DROP PUBLICATION IF EXISTS bench_native; CREATE PUBLICATION bench_native FOR TABLE narrow"
    $nat -c "CREATE SUBSCRIPTION bench_native CONNECTION 'host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=postgres sslmode=$SSLMODE'
            PUBLICATION bench_native WITH (slot_name = bench_native)"
    until [[ $($nat -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == 0 ]]; do sleep 0.2; done
    $nat -c "ALTER SUBSCRIPTION bench_native DISABLE"
    until [[ $(src -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'bench_native' AND NOT active") == 1 ]]; do sleep 0.2; done
    src -c "SELECT pg_create_logical_replication_slot('bench_raw', 'pgoutput')" >/dev/null
    make_backlog "$tx_rows"
    local target expect
    target=$(src -c "SELECT pg_current_wal_lsn()")
    expect=$(src -c "SELECT count(*) || ' rows, sum ' || sum(v) FROM narrow")

    settle
    t0=$(now)
    java $JAVA_OPTS -cp "$JAR" dev.scry.backfill.app.bench.RawEngineBench "$CONFIG" bench_raw "$BACKLOG" >"$WORK/raw.out" 2>"$WORK/raw.err" \
      || { tail -n 20 "$WORK/raw.err"; exit 1; }
    raw+=("$(calc "$BACKLOG / ($(now) - $t0)")")
    src -c "SELECT pg_drop_replication_slot('bench_raw')" >/dev/null

    settle
    t0=$(now)
    scripts/backfill cdc -c "$CONFIG" --exit-when-caught-up >"$WORK/cdc.out" 2>"$WORK/cdc.err" &
    pid=$!
    watch_jvm "$pid"
    wait "$pid" || { tail -n 20 "$WORK/cdc.err"; exit 1; }
    ours+=("$(calc "$BACKLOG / ($(now) - $t0)")")
    rss+=("$PEAK_RSS"); heap+=("$PEAK_HEAP")

    settle
    t0=$(now)
    $nat -c "ALTER SUBSCRIPTION bench_native ENABLE"
    until [[ $(src -c "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'bench_native'") == t ]]; do sleep 0.1; done
    native+=("$(calc "$BACKLOG / ($(now) - $t0)")")
    # Both must hold what the source holds, or the rates mean nothing.
    for side in "shd" "$nat"; do
      got=$($side -c "SELECT count(*) || ' rows, sum ' || sum(v) FROM narrow")
      [[ $got == "$expect" ]] || { echo "bench: after catch-up $side has $got, the source $expect" >&2; exit 1; }
    done
    $nat -c "DROP SUBSCRIPTION bench_native"
  done
  local co cn cr
  co=$(median "${ours[@]}"); cn=$(median "${native[@]}"); cr=$(median "${raw[@]}")
  say ""
  say "catch-up changes/s on $BACKLOG changes (80% updates, 10% inserts, 10% deletes) in $label (median of $RUNS;"
  say "  runs: backfill ${ours[*]} | native ${native[*]} | raw engine ${raw[*]})"
  say "  native subscription   $cn"
  say "  raw Debezium engine   $cr   (do-nothing consumer)"
  say "  backfill cdc          $co   = $(calc "$co / $cn") x native (target >= 0.8), $(calc "$co / $cr") x the raw engine (target >= 0.9)"
  say "  backfill JVM: peak RSS $(median "${rss[@]}") MB, peak heap used $(median "${heap[@]}") MB"
}
if runs_part catchup100; then catch_up 100 "100-row transactions"; fi
if runs_part catchup1; then catch_up 1 "one-row transactions"; fi

# --- steady state: end-to-end lag at 5,000 changes/s (100 transactions of 50 inserts a second) ---
expected=$((LAG_SECONDS * 5000))
p50s=(); p99s=(); maxes=(); rates=()
if runs_part lag; then
for run in $(seq 1 "$RUNS"); do
  src -c "TRUNCATE lag"
  restore_narrow
  fresh_shadow backfill
  scripts/backfill snapshot -c "$CONFIG" >/dev/null 2>&1
  scripts/backfill cdc -c "$CONFIG" >"$WORK/lag.out" 2>"$WORK/lag.err" &
  pid=$!
  until [[ $(src -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'backfill_bench' AND active") == 1 ]]; do sleep 0.2; done
  src -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN FOR i IN 1..$((LAG_SECONDS * 100)) LOOP
      INSERT INTO lag (written_at, v) SELECT clock_timestamp(), g FROM generate_series(1, 50) g; COMMIT;
      PERFORM pg_sleep(GREATEST(0, extract(epoch FROM t0 + i * interval '10 ms' - clock_timestamp()))); END LOOP; END \$\$"
  until [[ $(shd -c "SELECT count(*) FROM lag_seen") -ge $expected ]]; do sleep 0.2; done
  kill "$pid"; wait "$pid" || true
  rates+=("$(src -c "SELECT round(count(*) / extract(epoch FROM max(written_at) - min(written_at))) FROM lag")")
  read -r p50 p99 pmax < <(shd -F ' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM seen_at - written_at))::numeric * 1000, 1),
         round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM seen_at - written_at))::numeric * 1000, 1),
         round(max(extract(epoch FROM seen_at - written_at))::numeric * 1000, 1) FROM lag_seen")
  p50s+=("$p50"); p99s+=("$p99"); maxes+=("$pmax")
done
src -c "TRUNCATE lag"
say ""
say "steady state: $expected inserts over $LAG_SECONDS s (written at $(median "${rates[@]}") changes/s), end-to-end lag, source insert to"
say "shadow apply (median of $RUNS; runs p50 ${p50s[*]} | p99 ${p99s[*]} | max ${maxes[*]} ms):"
say "  p50 $(median "${p50s[@]}") ms, p99 $(median "${p99s[@]}") ms, max $(median "${maxes[@]}") ms (target: p99 < 1000 ms)"
fi
# --- full-schema snapshot: secondary indexes, foreign keys and a partitioned table (database bench_full) ---
# backfill creates the tables, copies the rows and builds keys, indexes and foreign keys after them
# with snapshot.parallelism workers; pg_dump -Fd -j N dumps the same database to a directory and
# pg_restore -j N loads it the same way (tables, data, then indexes and constraints in parallel).
FULL=bench_full
PARALLEL=2
FULL_CONFIG=$WORK/bench_full.yaml
cat > "$FULL_CONFIG" <<YAML
pipeline: bench_full
source: {host: 127.0.0.1, port: $SOURCE_PORT, database: $FULL, user: postgres, sslmode: $SSLMODE}
shadow: {host: 127.0.0.1, port: $SHADOW_PORT, database: $FULL, user: postgres, sslmode: $SSLMODE}
tables: ['public.*']
snapshot: {parallelism: $PARALLEL}
metrics: {port: 0}
YAML
if runs_part fullschema; then
  PG_DUMP=$BIN/pg_dump; PG_RESTORE=$BIN/pg_restore
  EVENTS=$MIXED
  FULL_ROWS=$((ROWS + EVENTS + 1000))
  q "$SOURCE_PORT" postgres -c "DROP DATABASE IF EXISTS $FULL WITH (FORCE)"
  q "$SOURCE_PORT" postgres -c "CREATE DATABASE $FULL"
  q "$SOURCE_PORT" "$FULL" -c "$SCHEMA
    CREATE TABLE kinds (id int PRIMARY KEY, label text NOT NULL);
    CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, mixed_id bigint REFERENCES mixed (id), kind int, note text,
                         PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
    CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE events_rest PARTITION OF events DEFAULT;
    INSERT INTO kinds SELECT g, 'kind ' || g FROM generate_series(0, 999) g;
    INSERT INTO mixed SELECT g, 'name ' || g, g / 100.0, timestamptz '2024-01-01' + g * interval '1 second', g % 2 = 0,
           jsonb_build_object('k', g, 'v', 'value ' || g), ARRAY['a' || g % 10, 'b'] FROM generate_series(1, $MIXED) g;
    INSERT INTO narrow SELECT g, g % 1000 FROM generate_series(1, $NARROW) g;
    INSERT INTO wide SELECT g, repeat(md5(g::text), 128) FROM generate_series(1, $WIDE) g;
    INSERT INTO events SELECT g, DATE '2023-01-01' + g % 900, g % $MIXED + 1, g % 1000, 'event ' || g FROM generate_series(1, $EVENTS) g;
    CREATE INDEX mixed_at_idx ON mixed (at);
    CREATE INDEX mixed_name_idx ON mixed (name);
    CREATE INDEX narrow_v_idx ON narrow (v);
    CREATE INDEX events_kind_idx ON events (kind, at);
    CREATE INDEX events_mixed_idx ON events (mixed_id);
    ALTER TABLE narrow ADD CONSTRAINT narrow_v_fkey FOREIGN KEY (v) REFERENCES kinds (id)"
  q "$SOURCE_PORT" "$FULL" -c "VACUUM ANALYZE"
  FULL_MB=$(q "$SOURCE_PORT" "$FULL" -c "SELECT round(sum(pg_total_relation_size(c.oid))::numeric / 1048576, 1) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')")
  fresh_full() {
    scripts/backfill teardown -c "$FULL_CONFIG" --drop-metadata >/dev/null 2>&1 || true
    q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS $FULL WITH (FORCE)"
    q "$SHADOW_PORT" postgres -c "CREATE DATABASE $FULL"
  }
  dumped=(); fullours=(); fullrss=()
  # Untimed: the launcher records the class-data archive of this configuration's snapshot.
  fresh_full
  scripts/backfill snapshot -c "$FULL_CONFIG" >/dev/null 2>"$WORK/full.err" || { cat "$WORK/full.err"; exit 1; }
  for run in $(seq 1 "$RUNS"); do
    fresh_full
    rm -rf "$WORK/dump"
    settle
    t0=$(now)
    "$PG_DUMP" -h 127.0.0.1 -p "$SOURCE_PORT" -U postgres -d "$FULL" -Fd -j "$PARALLEL" -f "$WORK/dump"
    "$PG_RESTORE" -h 127.0.0.1 -p "$SHADOW_PORT" -U postgres -d "$FULL" -j "$PARALLEL" "$WORK/dump"
    dumped+=("$(calc "$FULL_ROWS / ($(now) - $t0)")")
    [[ $(q "$SHADOW_PORT" "$FULL" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'") -ge 10 ]] \
      || { echo "bench: pg_restore left indexes out" >&2; exit 1; }

    fresh_full
    settle
    t0=$(now)
    scripts/backfill snapshot -c "$FULL_CONFIG" > "$WORK/full.out" 2>"$WORK/full.err" &
    pid=$!
    watch_jvm "$pid"
    wait "$pid" || { cat "$WORK/full.err"; exit 1; }
    fullours+=("$(calc "$FULL_ROWS / ($(now) - $t0)")")
    fullrss+=("$PEAK_RSS")
    # The same schema and rows as the source, or the rate means nothing.
    for table in mixed narrow wide events kinds; do
      [[ $(q "$SHADOW_PORT" "$FULL" -c "SELECT count(*) FROM $table") == $(q "$SOURCE_PORT" "$FULL" -c "SELECT count(*) FROM $table") ]] \
        || { echo "bench: backfill's $table differs from the source's" >&2; exit 1; }
    done
    [[ $(q "$SHADOW_PORT" "$FULL" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'") == \
       $(q "$SOURCE_PORT" "$FULL" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'") ]] \
      || { echo "bench: backfill's shadow lacks indexes" >&2; exit 1; }
  done
  d=$(median "${dumped[@]}"); f=$(median "${fullours[@]}")
  say ""
  say "full-schema snapshot rows/s: $FULL_ROWS rows, $FULL_MB MB with indexes, 6 secondary indexes on 3 tables, 2 foreign keys,"
  say "  a table of 3 partitions; $PARALLEL workers each (median of $RUNS; runs: pg_dump+pg_restore ${dumped[*]} | backfill ${fullours[*]})"
  say "  pg_dump -Fd -j $PARALLEL + pg_restore -j $PARALLEL   $d rows/s"
  say "  backfill snapshot                 $f rows/s  = $(calc "$f / $d") x pg_dump | pg_restore (target >= 1.0)"
  say "  backfill JVM: peak RSS $(median "${fullrss[@]}") MB"
  scripts/backfill teardown -c "$FULL_CONFIG" --drop-metadata >/dev/null 2>&1 || true
fi
scripts/backfill teardown -c "$CONFIG" --drop-metadata >/dev/null 2>&1 || true
say ""
say "figures written to $OUT"
