#!/usr/bin/env bash
# Checks the rate limit against its targets on the local pair (not part of the test suite: it
# measures time). With rate-limit.rows-per-second = 2000:
#   - a snapshot of 30,000 rows takes 15 s +- 10%;
#   - a burst of 10,000 streamed changes is applied at 2,000 rows/s +- 10%.
# Prints the figures and the ratios, and exits 1 when a figure is outside its tolerance.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SOURCE_PORT=${PG_SOURCE_PORT:-54320}
SHADOW_PORT=${PG_SHADOW_PORT:-54321}
DB=ratecheck
WORK=$(mktemp -d)
trap 'kill "${CDC_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

scripts/pg-local.sh start >/dev/null
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
src() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SOURCE_PORT" -U postgres -d "$DB" "$@"; }
shd() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SHADOW_PORT" -U postgres -d "$DB" "$@"; }
admin() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"; }

CONFIG=$WORK/ratecheck.yaml
cat > "$CONFIG" <<YAML
pipeline: ratecheck
source: {host: 127.0.0.1, port: $SOURCE_PORT, database: $DB, user: postgres}
shadow: {host: 127.0.0.1, port: $SHADOW_PORT, database: $DB, user: postgres}
tables: [public.items]
batch: {max-rows: 500, max-delay-ms: 50}
rate-limit: {rows-per-second: 2000}
YAML

echo "== preparing: 30,000 rows in $DB on the source"
scripts/backfill teardown -c "$CONFIG" --drop-metadata >/dev/null 2>&1 || true
for port in "$SOURCE_PORT" "$SHADOW_PORT"; do
  admin "$port" "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  admin "$port" "CREATE DATABASE $DB"
done
src -c "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), tags text[])"
src -c "INSERT INTO items SELECT g, 'item ' || g, g / 7.0, ARRAY['a', 'b'] FROM generate_series(1, 30000) g"

echo "== snapshot at 2,000 rows/s"
start=$(date +%s.%N)
scripts/backfill snapshot -c "$CONFIG" > "$WORK/snapshot.out"
end=$(date +%s.%N)
copy_s=$(sed -n 's/.*complete: [0-9]* rows in \([0-9.]*\) s.*/\1/p' "$WORK/snapshot.out")
calc() { awk "BEGIN { print $1 }"; }
wall_s=$(calc "$end - $start")

echo "== burst of 10,000 changes streamed at 2,000 rows/s"
scripts/backfill cdc -c "$CONFIG" > "$WORK/cdc.log" 2>&1 &
CDC_PID=$!
for _ in $(seq 1 300); do
  [[ $(src -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'backfill_ratecheck' AND active") == 1 ]] && break
  sleep 0.2
done
src -c "UPDATE items SET price = price + 1 WHERE id <= 10000"
# The shadow's update count over time: the rate between 1,000 and 9,000 applied changes.
t1=""; t2=""
for _ in $(seq 1 1200); do
  n=$(shd -c "SELECT coalesce(sum(updates), 0) FROM scry_backfill.table_progress")
  now=$(date +%s.%N)
  if [[ -z $t1 && $n -ge 1000 ]]; then t1=$now; n1=$n; fi
  if [[ -n $t1 && $n -ge 9000 ]]; then t2=$now; n2=$n; break; fi
  sleep 0.1
done
kill -TERM "$CDC_PID"; wait "$CDC_PID" || true; CDC_PID=
scripts/backfill teardown -c "$CONFIG" --drop-metadata >/dev/null

stream_rate=$(calc "($n2 - $n1) / ($t2 - $t1)")
ok=0
check() { # name value target tolerance
  local ratio; ratio=$(calc "$2 / $3")
  local verdict=ok
  if [[ $(calc "($ratio < 1 - $4 || $ratio > 1 + $4) ? 1 : 0") == 1 ]]; then verdict="OUTSIDE +-$(calc "$4 * 100")%"; ok=1; fi
  printf '%-44s %10.2f  target %8.2f  ratio %.3f  %s\n' "$1" "$2" "$3" "$ratio" "$verdict"
}
echo
echo "== figures (rows-per-second: 2000)"
check "snapshot of 30,000 rows, seconds (copy)" "$copy_s" 15 0.10
printf '%-44s %10.2f  (includes JVM start and slot creation)\n' "snapshot command, wall seconds" "$wall_s"
check "streamed burst, changes/s (1k..9k applied)" "$stream_rate" 2000 0.10
exit $ok
