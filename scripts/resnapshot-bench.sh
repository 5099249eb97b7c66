#!/usr/bin/env bash
# `table resnapshot` of a large table while cdc runs and a writer keeps updating it (not part of
# the test suite: it takes a few minutes). Runs ResnapshotLoadIT, the suite's test, on ROWS rows
# (default 2,000,000; the suite runs 200,000) in chunks of CHUNK_ROWS (default 10,000) against
# the local pair (scripts/pg-local.sh; PG_SOURCE_PORT, PG_SHADOW_PORT and PG_LOCAL_DIR move it):
# the copy by chunks between watermarks, with pg_locks sampled throughout (the writer must never
# wait on a table lock) and the writer's latencies measured; then, in the same run, the locked
# method (cdc stopped, SHARE lock for the whole copy) for comparison; each time the table must end
# equal. Prints the figures (also in backfill-app/target/resnapshot-load.txt) and exits 1 when
# the test fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ROWS=${ROWS:-2000000}
CHUNK_ROWS=${CHUNK_ROWS:-10000}

scripts/pg-local.sh start >/dev/null
eval "$(scripts/pg-local.sh env)"
echo "== ResnapshotLoadIT on $ROWS rows, chunks of $CHUNK_ROWS rows, against 127.0.0.1:$SCRY_TEST_SOURCE_PORT and :$SCRY_TEST_SHADOW_PORT"
if ! mvn -B -q verify -pl backfill-app -am -Dit.test=ResnapshotLoadIT -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
    -Dfailsafe.failIfNoSpecifiedTests=false -Dresnapshot.rows="$ROWS" -Dresnapshot.chunk-rows="$CHUNK_ROWS"; then
  echo "ResnapshotLoadIT failed; see backfill-app/target/failsafe-reports/" >&2
  exit 1
fi
cat backfill-app/target/resnapshot-load.txt
