#!/usr/bin/env bash
# Stress for the retry path: a `cdc` daemon streams a steady writer's inserts while the source is
# stopped and started again at random moments (also while the daemon is starting its engine).
# The daemon must stay up through every restart, and once caught up the shadow must equal the
# source. Uses the local pair (scripts/pg-local.sh); ROUNDS restarts (default 15).
# Prints one line per round, then the catch-up and `verify` lines; exit 0 when both hold.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-15}
WORK=$(mktemp -d)
cleanup() {
  kill ${WRITER:-} ${DAEMON:-} 2>/dev/null
  "$ROOT/scripts/pg-local.sh" start source >/dev/null
  # The slot would keep WAL on the source for ever.
  "$ROOT/scripts/backfill" teardown -c "$WORK/stress.yaml" --drop-metadata >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
"$ROOT/scripts/pg-local.sh" start >/dev/null
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
src() { "$PSQL" -X -q -h 127.0.0.1 -p 54320 -U postgres "$@"; }
shd() { "$PSQL" -X -q -h 127.0.0.1 -p 54321 -U postgres "$@"; }
backfill() { "$ROOT/scripts/backfill" "$@" -c "$WORK/stress.yaml"; }
cat > "$WORK/stress.yaml" <<'YAML'
pipeline: restart_stress
source: {host: 127.0.0.1, port: 54320, database: restart_stress, user: postgres, password: ""}
shadow: {host: 127.0.0.1, port: 54321, database: restart_stress, user: postgres, password: ""}
tables: [public.t]
slot: restart_stress
publication: restart_stress
metrics: {port: 0}
YAML
backfill teardown --drop-metadata >/dev/null 2>&1
for run in src shd; do $run -d postgres -c "DROP DATABASE IF EXISTS restart_stress WITH (FORCE)" -c "CREATE DATABASE restart_stress" 2>/dev/null; done
src -d restart_stress -c "CREATE TABLE t (id bigserial PRIMARY KEY, v text)"
backfill snapshot >"$WORK/snapshot.log" 2>&1 || { cat "$WORK/snapshot.log"; exit 1; }
"$ROOT/scripts/backfill" cdc -c "$WORK/stress.yaml" >"$WORK/cdc.log" 2>&1 &  # exec: $! is the JVM
DAEMON=$!
( while :; do src -d restart_stress -c "INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 20) g" >/dev/null 2>&1; done ) &
WRITER=$!
rc=0
for i in $(seq 1 "$ROUNDS"); do
  sleep "$(awk -v s=$RANDOM 'BEGIN { print 1 + (s % 4000) / 1000 }')"
  "$ROOT/scripts/pg-local.sh" stop source >/dev/null
  sleep "$(awk -v s=$RANDOM 'BEGIN { print (s % 3000) / 1000 }')"
  "$ROOT/scripts/pg-local.sh" start source >/dev/null
  if ! kill -0 "$DAEMON" 2>/dev/null; then
    echo "round $i: the daemon exited"; grep -E "error:|ERROR" "$WORK/cdc.log" | tail -5; rc=1; break
  fi
  echo "round $i: source restarted, daemon up"
done
kill "$WRITER"; kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null
echo "retries logged: $(grep -c 'not ready: the source connection failed' "$WORK/cdc.log")"
[[ $rc == 0 ]] || exit $rc
backfill cdc --exit-when-caught-up 2>"$WORK/catchup.log" | tail -n 1 || { tail -n 5 "$WORK/catchup.log"; exit 1; }
backfill verify 2>/dev/null | tail -n 1
