#!/usr/bin/env bash
# The demo: starts the local PostgreSQL pair, loads a small shop into the source, copies it with
# `snapshot`, streams a burst of live changes through the `cdc` daemon, and checks that every
# shadow table equals its source table. Safe to run again: it starts the demo over each time.
# The clusters are left running (scripts/pg-local.sh stop stops them). PG_SOURCE_PORT,
# PG_SHADOW_PORT and PG_LOCAL_DIR move them; METRICS_PORT moves the metrics endpoint (9464) that
# `snapshot` and `cdc` serve while they run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CONFIG=examples/demo.yaml
SOURCE_PORT=${PG_SOURCE_PORT:-54320}
SHADOW_PORT=${PG_SHADOW_PORT:-54321}
TABLES=(customers products orders order_lines)
OUT=$ROOT/demo-output
mkdir -p "$OUT"

PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
step() { printf '\n== %s\n' "$*"; }
src() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SOURCE_PORT" -U postgres -d app "$@"; }
shd() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$SHADOW_PORT" -U postgres -d shadow "$@"; }

step "starting the local PostgreSQL pair"
scripts/pg-local.sh start
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql

step "building scry-backfill"
(mvn -B -q -DskipTests package -pl backfill-app -am)
touch backfill-app/target/scry-backfill.jar

step "starting over: dropping the previous demo's slot, checkpoint and tables"
scripts/backfill teardown -c "$CONFIG" --drop-metadata
shd -c "DROP TABLE IF EXISTS customers, products, orders, order_lines"

step "loading the shop into the source (database app on port $SOURCE_PORT)"
src <<'SQL'
DROP TABLE IF EXISTS order_lines, orders, products, customers;
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email varchar(120), vip boolean NOT NULL DEFAULT false,
                        tags text[], profile jsonb, signed_up timestamptz NOT NULL, birthday date);
CREATE TABLE products (sku text PRIMARY KEY, title text NOT NULL, price numeric(10,2) NOT NULL, weight_kg real,
                       dims double precision[], attrs jsonb, image bytea);
CREATE TABLE orders (id uuid PRIMARY KEY, customer_id bigint NOT NULL, placed_at timestamp(6) NOT NULL,
                     total numeric NOT NULL, status text NOT NULL, notes json);
CREATE TABLE order_lines (order_id uuid, line smallint, sku text NOT NULL, qty integer NOT NULL, unit_price numeric(10,2),
                          PRIMARY KEY (order_id, line));
INSERT INTO customers
  SELECT g, 'Customer ' || g, 'c' || g || '@example.org', g % 10 = 0, ARRAY['t' || (g % 7), NULL],
         jsonb_build_object('tier', g % 3, 'prefs', jsonb_build_array('email', 'sms')),
         '2020-01-01 00:00:00+00'::timestamptz + g * interval '37 minutes 11.123456 seconds',
         DATE '1950-01-01' + (g * 13) % 20000
  FROM generate_series(1, 20000) g;
INSERT INTO products
  SELECT 'SKU-' || lpad(g::text, 5, '0'), 'Product "' || g || '"', (g % 500) + 0.99, g / 10.0,
         ARRAY[g * 0.5, g * 0.25, 'NaN'], jsonb_build_object('color', (ARRAY['red', 'green', 'blue'])[g % 3 + 1]),
         decode(md5(g::text), 'hex')
  FROM generate_series(1, 2000) g;
INSERT INTO orders
  SELECT md5('order' || g)::uuid, 1 + g % 20000, '2024-01-01 00:00:00'::timestamp + g * interval '1 minute 0.000001 second',
         round((g % 1000) * 1.07, 2), (ARRAY['new', 'paid', 'shipped'])[g % 3 + 1], '{"gift":  true}'
  FROM generate_series(1, 30000) g;
INSERT INTO order_lines
  SELECT md5('order' || g)::uuid, l, 'SKU-' || lpad((1 + (g * l) % 2000)::text, 5, '0'), 1 + l, (g % 50) + 0.5
  FROM generate_series(1, 30000) g, generate_series(1, 3) l;
SQL

step "snapshot: copying the tables consistently with a new replication slot"
scripts/backfill snapshot -c "$CONFIG"

step "cdc: the daemon streams while a burst of 1,000 transactions hits the source"
scripts/backfill cdc -c "$CONFIG" >"$OUT/cdc.log" 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  [[ $(src -tA -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'backfill_demo' AND active") == 1 ]] && break
  kill -0 $DAEMON 2>/dev/null || { cat "$OUT/cdc.log"; echo "the cdc daemon exited early" >&2; exit 1; }
  sleep 0.5
done
echo "daemon streaming (log: $OUT/cdc.log)"
burst() {
  for i in $(seq "$1" "$2"); do
    case $((i % 5)) in
      0) echo "BEGIN; INSERT INTO orders VALUES (md5('live$i')::uuid, $((1 + i % 20000)), clock_timestamp()::timestamp, $i.25, 'new', NULL);
                INSERT INTO order_lines SELECT md5('live$i')::uuid, l, 'SKU-00001', l, 9.99 FROM generate_series(1, 4) l; COMMIT;" ;;
      1) echo "UPDATE orders SET status = 'paid', total = total + 1 WHERE id = md5('order$i')::uuid;" ;;
      2) echo "BEGIN; DELETE FROM order_lines WHERE order_id = md5('order$i')::uuid; DELETE FROM orders WHERE id = md5('order$i')::uuid; COMMIT;" ;;
      3) echo "UPDATE customers SET profile = profile || jsonb_build_object('last_seen', now()), tags = tags || 'live'::text WHERE id = $i;" ;;
      4) echo "UPDATE products SET price = price * 1.1, sku = sku || '-v2' WHERE sku = 'SKU-$(printf %05d $((i % 2000 + 1)))';" ;;
    esac
  done | src
}
for chunk in 0 1 2 3 4; do
  burst $((chunk * 200 + 1)) $((chunk * 200 + 200))
  sleep 0.5
done
echo "burst committed on the source; waiting for the daemon to apply it"
for _ in $(seq 1 120); do
  [[ $(shd -tA -c "SELECT count(*) FROM orders WHERE id = md5('live1000')::uuid") == 1 ]] && break
  sleep 0.5
done

step "stopping the daemon with SIGTERM (it finishes the batch in flight), then catching up the rest"
kill -TERM $DAEMON
status=0
wait $DAEMON || status=$?
trap - EXIT
echo "daemon exited with status $status"
[[ $status -eq 0 ]] || { cat "$OUT/cdc.log"; exit 1; }
tail -n 3 "$OUT/cdc.log"
scripts/backfill cdc -c "$CONFIG" --exit-when-caught-up

step "status"
scripts/backfill status -c "$CONFIG"

step "checking that every shadow table equals its source table"
# Row count and digest (md5 over the sorted md5s of the rows' text) of each table on both sides,
# computed by psql here, independently of scry-backfill.
fail=0
compare() {
  local t q a b result
  printf '%-12s %10s %10s  %-32s  %-32s  %s\n' table source shadow "source digest" "shadow digest" result
  for t in "${TABLES[@]}"; do
    q="SELECT count(*) || ' ' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '-') FROM $t t"
    a=$(src -tA -c "$q"); b=$(shd -tA -c "$q")
    result=equal; [[ $a == "$b" ]] || result=DIFFERENT
    printf '%-12s %10s %10s  %-32s  %-32s  %s\n' "$t" "${a%% *}" "${b%% *}" "${a#* }" "${b#* }" "$result"
  done
}
table=$(compare)
echo "$table"
grep -q DIFFERENT <<<"$table" && fail=1
# README ("Try it") says this prints each table's row count and digest on both sides: hold it to that.
printed=$(grep -cE '^[a-z_]+ +[0-9]+ +[0-9]+  [0-9a-f]{32}  [0-9a-f]{32}  (equal|DIFFERENT)$' <<<"$table" || true)
if [[ $printed -ne ${#TABLES[@]} ]]; then
  echo "demo FAILED: the comparison printed $printed of ${#TABLES[@]} tables with a row count and digest on both sides," \
       "as README's \"Try it\" says it does" >&2
  exit 1
fi

step "verify: scry-backfill's own comparison (count and digest computed inside each database)"
verify_status=0
scripts/backfill verify -c "$CONFIG" || verify_status=$?
[[ $verify_status -eq 0 ]] || fail=1
if [[ $fail -ne 0 ]]; then
  echo "demo FAILED: the shadow differs from the source" >&2
  exit 1
fi
echo
echo "demo passed: the shadow equals the source, row for row."
echo "Try: scripts/backfill status -c $CONFIG   |   scripts/backfill teardown -c $CONFIG"
echo "The clusters keep running (source 127.0.0.1:$SOURCE_PORT, shadow 127.0.0.1:$SHADOW_PORT); stop them with:"
echo "  PG_SOURCE_PORT=$SOURCE_PORT PG_SHADOW_PORT=$SHADOW_PORT PG_LOCAL_DIR=${PG_LOCAL_DIR:-.pg-local} scripts/pg-local.sh stop"
