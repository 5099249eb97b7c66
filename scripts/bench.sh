#!/usr/bin/env bash
# Side-by-side benchmark on the local pair (not part of the tests). Generates a data set, then
# measures, RUNS times each, and prints medians and ratios:
#   snapshot rows/s and MB/s: backfill snapshot  vs  the binary COPY pipe  vs  native initial table sync
#   catch-up changes/s on a backlog (updates, inserts, deletes) in 100-row transactions, and on one in
#     one-row transactions, all on the same backlog: backfill cdc --exit-when-caught-up with our pgoutput
#     reader  vs  the same pipeline with the Debezium reader  vs  a native subscription  vs  the raw
#     Debezium engine with a consumer that does nothing
#   steady-state end-to-end lag p50/p99 at 5,000 changes/s for LAG_SECONDS (default 60): both readers
#     and a native subscription
#   peak RSS and peak heap used of the backfill JVMs
#   full-schema snapshot rows/s: the same tables with secondary indexes, foreign keys and a partitioned
#     table (database bench_full): backfill snapshot  vs  pg_dump -Fd -j N then pg_restore -j N (N =
#     snapshot.parallelism, 2), the tool a user would otherwise pick
# SCALE multiplies the data set (1 = the issue's: 1M mixed rows, 2M narrow rows, 50k rows of 4 KB
# text; backlogs of 1M changes). Wall times include the JVM's start for backfill and the raw
# engine alike. The figures also go to bench-results/<timestamp>.txt. ONLY (a comma-separated list
# of snapshot, catchup100, catchup1, lag, fullschema; default all) runs some of the measures.
# SSLMODE (default: both, prefer then disable; the local pair answers prefer with TLS) is used by every
# connection of all contenders: psql, the native subscription and backfill. With both modes the data
# set is generated once and a table of both modes' ratios is printed at the end. Before each timed
# run both clusters take a CHECKPOINT and the kernel writes dirty pages back (sync), so that no run
# pays for writing out the previous one's load.
# For development: SCALE=0.1 RUNS=1 ONLY=catchup100 SSLMODE=disable LAG_SECONDS=10.
# The Debezium reader streams a pipeline whose checkpoint Debezium wrote: its pipeline takes
# Debezium's snapshot (snapshot.method: debezium) of the tables it follows, then streams.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}
OUT_DIR=$ROOT/bench-results
mkdir -p "$OUT_DIR"

# Both modes: this script once per mode, then one table of both.
if [[ -z ${SSLMODE:-} ]]; then
  STAMP=$(date +%Y%m%d-%H%M%S)
  SUMMARY_DIR=$(mktemp -d)
  ready=0
  for mode in prefer disable; do
    SSLMODE=$mode BENCH_SUMMARY=$SUMMARY_DIR/$mode BENCH_DATA_READY=$ready BENCH_OUT=$OUT_DIR/$STAMP-$mode.txt "$0"
    ready=1
  done
  OUT=$OUT_DIR/$STAMP.txt
  {
    echo ""
    echo "== both modes (medians; ratios against the reference in the row's name; the runs are in $OUT_DIR/$STAMP-*.txt)"
    echo ""
    echo "| measure | sslmode prefer (TLS) | sslmode disable |"
    echo "|---|---|---|"
    # The first mode's keys, in the order they were written.
    cut -f1 "$SUMMARY_DIR/prefer" | while read -r key; do
      a=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$SUMMARY_DIR/prefer")
      b=$(awk -F'\t' -v k="$key" '$1 == k { print $2 }' "$SUMMARY_DIR/disable" 2>/dev/null)
      echo "| $key | $a | ${b:--} |"
    done
  } | tee "$OUT"
  rm -rf "$SUMMARY_DIR"
  exit 0
fi
export PGSSLMODE=$SSLMODE
# One line per figure for the table of both modes: "measure<TAB>value".
kv() { [[ -n ${BENCH_SUMMARY:-} ]] && printf '%s\t%s\n' "$1" "$2" >> "$BENCH_SUMMARY" || true; }
SOURCE_PORT=${PG_SOURCE_PORT:-54320}
SHADOW_PORT=${PG_SHADOW_PORT:-54321}
DB=bench
OUT=${BENCH_OUT:-$OUT_DIR/$(date +%Y%m%d-%H%M%S).txt}
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
# The same pipeline read by the Debezium engine: its own shadow database and slot, the table the
# backlogs change (Debezium's snapshot of the others would only cost time).
DBZ_CONFIG=$WORK/bench_dbz.yaml
sed -e 's/^pipeline: bench$/pipeline: bench_dbz/' -e "/^shadow:/s/database: $DB,/database: ${DB}_dbz,/" \
    -e 's/^tables: .*/tables: [public.narrow]/' "$CONFIG" > "$DBZ_CONFIG"
echo "snapshot: {method: debezium}" >> "$DBZ_CONFIG"
# Steady-state lag: pipelines that follow the lag table alone, into databases of their own.
LAG_CONFIG=$WORK/bench_lag.yaml
sed -e 's/^pipeline: bench$/pipeline: bench_lag/' -e "/^shadow:/s/database: $DB,/database: ${DB}_lag,/" \
    -e 's/^tables: .*/tables: [public.lag]/' "$CONFIG" > "$LAG_CONFIG"
DBZ_LAG_CONFIG=$WORK/bench_dbz_lag.yaml
sed -e 's/^pipeline: bench_lag$/pipeline: bench_dbz_lag/' -e "/^shadow:/s/database: ${DB}_lag,/database: ${DB}_dbz_lag,/" "$LAG_CONFIG" > "$DBZ_LAG_CONFIG"
echo "snapshot: {method: debezium}" >> "$DBZ_LAG_CONFIG"
SCHEMA="CREATE TABLE mixed (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, flag boolean, doc jsonb, tags text[]);
CREATE TABLE narrow (id bigint PRIMARY KEY, v int);
CREATE TABLE wide (id bigint PRIMARY KEY, body text);
CREATE TABLE lag (id bigserial PRIMARY KEY, written_at timestamptz NOT NULL, v int);"
# On the shadow, an ALWAYS trigger stamps the moment each lag row is applied (same machine, same clock;
# qualified, since a native subscription applies with an empty search_path).
LAG_PROBE="CREATE TABLE lag_seen (id bigint, written_at timestamptz, seen_at timestamptz);
CREATE FUNCTION lag_seen() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
  INSERT INTO public.lag_seen VALUES (NEW.id, NEW.written_at, clock_timestamp()); RETURN NULL; END \$\$;
CREATE TRIGGER lag_seen AFTER INSERT ON lag FOR EACH ROW EXECUTE FUNCTION lag_seen();
ALTER TABLE lag ENABLE ALWAYS TRIGGER lag_seen;"

# Both clusters write out what earlier runs left dirty, so that a run is not charged for it. The
# local pair runs with fsync=off, so a CHECKPOINT only hands its pages to the kernel, which writes
# them back on its own schedule (dirty_expire_centisecs, 30 s by default), during the runs that
# follow: the catch-up runs start about half a minute after each run's snapshots wrote some 500 MB.
# sync makes the write-back happen here.
settle() {
  q "$SOURCE_PORT" postgres -c "CHECKPOINT"
  q "$SHADOW_PORT" postgres -c "CHECKPOINT"
  sync
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
# Also the JVM's CPU time (user + system, seconds) as last sampled before it exited (JVM_CPU).
PEAK_RSS=0; PEAK_HEAP=0; JVM_CPU=0
watch_jvm() {
  local pid=$1 kb stat ticks=0
  PEAK_RSS=0
  while kill -0 "$pid" 2>/dev/null; do
    read -r _ kb _ < <(grep VmHWM "/proc/$pid/status" 2>/dev/null) || true
    [[ -n ${kb:-} && $kb -gt $PEAK_RSS ]] && PEAK_RSS=$kb
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) && stat=${stat##*) } && read -r -a f <<<"$stat" && ticks=$((f[11] + f[12]))
    sleep 0.2
  done
  JVM_CPU=$(calc "$ticks / $(getconf CLK_TCK)")
  PEAK_RSS=$((PEAK_RSS / 1024))
  # No collection at all: the heap never filled its young generation (reported as 0).
  PEAK_HEAP=$({ grep -o '[0-9]*M->' "$WORK/gc.log" 2>/dev/null || true; } | sed 's/M->//' | sort -n | tail -n 1)
  PEAK_HEAP=${PEAK_HEAP:-0}
  rm -f "$WORK/gc.log"
}

say "== scry-backfill bench, SCALE=$SCALE ($MIXED mixed, $NARROW narrow, $WIDE x 4 KB rows), $RUNS runs each, $(nproc) cores, sslmode $SSLMODE, JVM: $JAVA_OPTS"
for c in "$CONFIG" "$DBZ_CONFIG" "$LAG_CONFIG" "$DBZ_LAG_CONFIG"; do
  scripts/backfill teardown -c "$c" --drop-metadata >/dev/null 2>&1 || true
done
if [[ ${BENCH_DATA_READY:-0} != 1 ]]; then
q "$SOURCE_PORT" postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
   WHERE (slot_name LIKE 'bench%' OR slot_name LIKE 'backfill_bench%') AND NOT active" >/dev/null
q "$SOURCE_PORT" postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
q "$SOURCE_PORT" postgres -c "CREATE DATABASE $DB"
src -c "$SCHEMA"
src -c "INSERT INTO mixed SELECT g, 'name ' || g, g / 100.0, timestamptz '2024-01-01' + g * interval '1 second', g % 2 = 0,
               jsonb_build_object('k', g, 'v', 'value ' || g), ARRAY['a' || g % 10, 'b'] FROM generate_series(1, $MIXED) g"
src -c "INSERT INTO narrow SELECT g, g % 1000 FROM generate_series(1, $NARROW) g"
src -c "INSERT INTO wide SELECT g, repeat(md5(g::text), 128) FROM generate_series(1, $WIDE) g"
src -c "VACUUM ANALYZE"
fi
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
kv "snapshot, x the binary COPY pipe" "$(calc "$o / $p") ($o rows/s)"
kv "snapshot, x native initial sync" "$(calc "$o / $n") ($n rows/s)"
kv "snapshot, peak RSS MB" "$(median "${rss[@]}")"
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
# CPU seconds a cluster's processes have used: the postmaster's own and its children's, those that
# ended (reaped, in its counts) and those running (the walsender and the backends of a run).
PG_DIR=${PG_LOCAL_DIR:-$ROOT/.pg-local}
cluster_cpu() {
  local pm child stat ticks=0
  pm=$(head -n 1 "$PG_DIR/$1/postmaster.pid")
  for child in "$pm" $(pgrep -P "$pm"); do
    stat=$(cat "/proc/$child/stat" 2>/dev/null) || continue
    stat=${stat##*) }; read -r -a f <<<"$stat"
    ticks=$((ticks + f[11] + f[12]))
    [[ $child == "$pm" ]] && ticks=$((ticks + f[13] + f[14]))
  done
  echo "$ticks"
}
cpu_since() { calc "($(cluster_cpu "$1") - $2) / $(getconf CLK_TCK)"; }
# One timed `cdc --exit-when-caught-up` of CONFIG; its rate goes to the array named RESULT, its peak
# RSS to RESULT_rss, the CPU seconds of source, shadow and JVM to RESULT_cpu ("source/shadow/jvm").
timed_cdc() {
  local config=$1 result=$2 s0 h0
  settle
  s0=$(cluster_cpu source); h0=$(cluster_cpu shadow)
  t0=$(now)
  scripts/backfill cdc -c "$config" --exit-when-caught-up >"$WORK/cdc.out" 2>"$WORK/cdc.err" &
  pid=$!
  watch_jvm "$pid"
  wait "$pid" || { tail -n 20 "$WORK/cdc.err"; exit 1; }
  eval "$result+=(\"\$(calc \"\$BACKLOG / (\$(now) - \$t0)\")\"); ${result}_rss+=(\"\$PEAK_RSS\")"
  eval "${result}_cpu+=(\"$(cpu_since source "$s0")/$(cpu_since shadow "$h0")/$JVM_CPU\")"
}
fresh_dbz() {
  local config=$1 db=$2
  scripts/backfill teardown -c "$config" --drop-metadata >/dev/null 2>&1 || true
  q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  q "$SHADOW_PORT" postgres -c "CREATE DATABASE $db"
}
# A subscriber database made afresh. What an interrupted run left behind goes first: a subscription
# keeps its database from being dropped, and cannot drop its slot when its publisher moved.
fresh_native() {
  local db=$1 sub=$2
  if [[ $(q "$SHADOW_PORT" postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$db'") == 1 ]]; then
    if [[ $(q "$SHADOW_PORT" "$db" -c "SELECT count(*) FROM pg_subscription WHERE subname = '$sub'") == 1 ]]; then
      q "$SHADOW_PORT" "$db" -c "ALTER SUBSCRIPTION $sub DISABLE"
      q "$SHADOW_PORT" "$db" -c "ALTER SUBSCRIPTION $sub SET (slot_name = NONE)"
      q "$SHADOW_PORT" "$db" -c "DROP SUBSCRIPTION $sub"
    fi
  fi
  src -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$sub' AND NOT active" >/dev/null
  q "$SHADOW_PORT" postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  q "$SHADOW_PORT" postgres -c "CREATE DATABASE $db"
}
catch_up() {
  local tx_rows=$1 label=$2 key=$3
  ours=() ours_rss=() ours_cpu=() dbz=() dbz_rss=() dbz_cpu=()
  local native=() native_cpu=() raw=() s0 h0
  local nat="q $SHADOW_PORT ${DB}_native" dbzq="q $SHADOW_PORT ${DB}_dbz"
  for run in $(seq 1 "$RUNS"); do
    restore_narrow
    fresh_shadow backfill
    scripts/backfill snapshot -c "$CONFIG" >/dev/null 2>&1
    # The Debezium reader's pipeline: Debezium's snapshot of the table, so that its checkpoint is
    # Debezium's and `cdc` streams with the engine.
    fresh_dbz "$DBZ_CONFIG" "${DB}_dbz"
    scripts/backfill snapshot -c "$DBZ_CONFIG" >/dev/null 2>"$WORK/dbz.err" || { tail -n 20 "$WORK/dbz.err"; exit 1; }
    # The native subscriber starts where ours does: its own copy of the table (initial sync), then
    # the subscription is disabled while the backlog is written, so both apply it to the same rows.
    # (Applied to empty tables, native replication would skip every update and delete as a missing row.)
    fresh_native "${DB}_native" bench_native
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

    timed_cdc "$CONFIG" ours
    timed_cdc "$DBZ_CONFIG" dbz

    settle
    s0=$(cluster_cpu source); h0=$(cluster_cpu shadow)
    t0=$(now)
    $nat -c "ALTER SUBSCRIPTION bench_native ENABLE"
    until [[ $(src -c "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'bench_native'") == t ]]; do sleep 0.1; done
    native+=("$(calc "$BACKLOG / ($(now) - $t0)")")
    native_cpu+=("$(cpu_since source "$s0")/$(cpu_since shadow "$h0")")
    # Every contender must hold what the source holds, or the rates mean nothing.
    for side in "shd" "$dbzq" "$nat"; do
      got=$($side -c "SELECT count(*) || ' rows, sum ' || sum(v) FROM narrow")
      [[ $got == "$expect" ]] || { echo "bench: after catch-up $side has $got, the source $expect" >&2; exit 1; }
    done
    $nat -c "DROP SUBSCRIPTION bench_native"
  done
  local co cz cn cr
  co=$(median "${ours[@]}"); cz=$(median "${dbz[@]}"); cn=$(median "${native[@]}"); cr=$(median "${raw[@]}")
  say ""
  say "catch-up changes/s on $BACKLOG changes (80% updates, 10% inserts, 10% deletes) in $label (median of $RUNS;"
  say "  runs: pgoutput reader ${ours[*]} | Debezium reader ${dbz[*]} | native ${native[*]} | raw engine ${raw[*]})"
  say "  native subscription            $cn"
  say "  raw Debezium engine            $cr   (do-nothing consumer) = $(calc "$cr / $cn") x native"
  say "  backfill, pgoutput reader      $co   = $(calc "$co / $cn") x native (target >= 1.0)"
  say "  backfill, Debezium reader      $cz   = $(calc "$cz / $cn") x native (target >= 0.8), $(calc "$cz / $cr") x the raw engine"
  say "  backfill JVM peak RSS: pgoutput reader $(median "${ours_rss[@]}") MB, Debezium reader $(median "${dbz_rss[@]}") MB (target < 512)"
  say "  CPU s per run (source/shadow[/JVM]): native ${native_cpu[*]} | pgoutput reader ${ours_cpu[*]} | Debezium reader ${dbz_cpu[*]}"
  kv "catch-up $key, pgoutput reader x native" "$(calc "$co / $cn") ($co/s)"
  kv "catch-up $key, Debezium reader x native" "$(calc "$cz / $cn") ($cz/s)"
  kv "catch-up $key, raw Debezium engine x native" "$(calc "$cr / $cn") ($cr/s)"
  kv "catch-up $key, native changes/s" "$cn"
  kv "catch-up $key, peak RSS MB (pgoutput / Debezium)" "$(median "${ours_rss[@]}") / $(median "${dbz_rss[@]}")"
}
if runs_part catchup100; then catch_up 100 "100-row transactions" "100-row tx"; fi
if runs_part catchup1; then catch_up 1 "one-row transactions" "1-row tx"; fi

# --- steady state: end-to-end lag at 5,000 changes/s (100 transactions of 50 inserts a second) ---
# Each contender follows the lag table alone into a database of its own, where the probe trigger
# stamps each row as it is applied: backfill with either reader (a daemon, started after its
# snapshot of the empty table), and a native subscription.
expected=$((LAG_SECONDS * 5000))
write_lag_load() {
  src -c "DO \$\$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN FOR i IN 1..$((LAG_SECONDS * 100)) LOOP
      INSERT INTO lag (written_at, v) SELECT clock_timestamp(), g FROM generate_series(1, 50) g; COMMIT;
      PERFORM pg_sleep(GREATEST(0, extract(epoch FROM t0 + i * interval '10 ms' - clock_timestamp()))); END LOOP; END \$\$"
}
# Appends "p50 p99 max rate" of the database's probe to the array named RESULT.
lag_figures() {
  local db=$1 result=$2 p50 p99 pmax rate
  rate=$(src -c "SELECT round(count(*) / extract(epoch FROM max(written_at) - min(written_at))) FROM lag")
  read -r p50 p99 pmax < <(q "$SHADOW_PORT" "$db" -F ' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM seen_at - written_at))::numeric * 1000, 1),
         round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM seen_at - written_at))::numeric * 1000, 1),
         round(max(extract(epoch FROM seen_at - written_at))::numeric * 1000, 1) FROM lag_seen")
  eval "${result}_p50+=($p50); ${result}_p99+=($p99); ${result}_max+=($pmax); ${result}_rate+=($rate)"
}
lag_backfill() {
  local config=$1 db=$2 slot=$3 result=$4
  src -c "TRUNCATE lag"
  fresh_dbz "$config" "$db"
  q "$SHADOW_PORT" "$db" -c "CREATE TABLE lag (id bigserial PRIMARY KEY, written_at timestamptz NOT NULL, v int)"
  q "$SHADOW_PORT" "$db" -c "$LAG_PROBE"
  scripts/backfill snapshot -c "$config" >/dev/null 2>"$WORK/lag.err" || { tail -n 20 "$WORK/lag.err"; exit 1; }
  scripts/backfill cdc -c "$config" >"$WORK/lag.out" 2>"$WORK/lag.err" &
  local pid=$!
  until [[ $(src -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot' AND active") == 1 ]]; do sleep 0.2; done
  write_lag_load
  until [[ $(q "$SHADOW_PORT" "$db" -c "SELECT count(*) FROM lag_seen") -ge $expected ]]; do sleep 0.2; done
  kill "$pid"; wait "$pid" || true
  lag_figures "$db" "$result"
}
lag_native() {
  local db=${DB}_native_lag
  src -c "TRUNCATE lag"
  fresh_native "$db" bench_native_lag
  q "$SHADOW_PORT" "$db" -c "CREATE TABLE lag (id bigserial PRIMARY KEY, written_at timestamptz NOT NULL, v int)"
  q "$SHADOW_PORT" "$db" -c "$LAG_PROBE"
  src -c "DROP PUBLICATION IF EXISTS bench_native_lag; CREATE PUBLICATION bench_native_lag FOR TABLE lag"
  q "$SHADOW_PORT" "$db" -c "CREATE SUBSCRIPTION bench_native_lag CONNECTION 'host=127.0.0.1 port=$SOURCE_PORT dbname=$DB user=postgres sslmode=$SSLMODE'
          PUBLICATION bench_native_lag WITH (slot_name = bench_native_lag)"
  until [[ $(q "$SHADOW_PORT" "$db" -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == 0 ]]; do sleep 0.2; done
  write_lag_load
  until [[ $(q "$SHADOW_PORT" "$db" -c "SELECT count(*) FROM lag_seen") -ge $expected ]]; do sleep 0.2; done
  lag_figures "$db" native
  q "$SHADOW_PORT" "$db" -c "DROP SUBSCRIPTION bench_native_lag"
}
if runs_part lag; then
ours_p50=(); ours_p99=(); ours_max=(); ours_rate=()
dbz_p50=(); dbz_p99=(); dbz_max=(); dbz_rate=()
native_p50=(); native_p99=(); native_max=(); native_rate=()
for run in $(seq 1 "$RUNS"); do
  lag_backfill "$LAG_CONFIG" "${DB}_lag" backfill_bench_lag ours
  lag_backfill "$DBZ_LAG_CONFIG" "${DB}_dbz_lag" backfill_bench_dbz_lag dbz
  lag_native
done
src -c "TRUNCATE lag"
say ""
say "steady state: $expected inserts over $LAG_SECONDS s (written at $(median "${ours_rate[@]}") changes/s), end-to-end lag, source insert to"
say "shadow apply (median of $RUNS; ms):"
for who in native ours dbz; do
  eval "p50=\$(median \"\${${who}_p50[@]}\"); p99=\$(median \"\${${who}_p99[@]}\"); pmax=\$(median \"\${${who}_max[@]}\"); runs=\"\${${who}_p99[*]}\""
  case $who in native) name="native subscription      ";; ours) name="backfill, pgoutput reader";; dbz) name="backfill, Debezium reader";; esac
  say "  $name  p50 $p50, p99 $p99, max $pmax (runs p99: $runs)"
  eval "${who}_lag_p99=$p99"
done
say "  targets: p99 < 250 ms with the pgoutput reader, < 1000 ms with the Debezium reader"
kv "lag p99 ms at 5,000/s, native" "$native_lag_p99"
kv "lag p99 ms at 5,000/s, pgoutput reader (x native)" "$ours_lag_p99 ($(calc "$ours_lag_p99 / $native_lag_p99"))"
kv "lag p99 ms at 5,000/s, Debezium reader (x native)" "$dbz_lag_p99 ($(calc "$dbz_lag_p99 / $native_lag_p99"))"
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
  kv "full-schema snapshot x pg_dump/pg_restore" "$(calc "$f / $d") ($f rows/s)"
  scripts/backfill teardown -c "$FULL_CONFIG" --drop-metadata >/dev/null 2>&1 || true
fi
for c in "$CONFIG" "$DBZ_CONFIG" "$LAG_CONFIG" "$DBZ_LAG_CONFIG"; do
  scripts/backfill teardown -c "$c" --drop-metadata >/dev/null 2>&1 || true
done
say ""
say "figures written to $OUT"
