#!/usr/bin/env bash
# A local PostgreSQL pair for development, the demo and the tests:
#   source  127.0.0.1:${PG_SOURCE_PORT:-54320}  database "app"     wal_level=logical
#   shadow  127.0.0.1:${PG_SHADOW_PORT:-54321}  database "shadow"
# Both accept the superuser "postgres" without a password on 127.0.0.1 only. They run with
# fsync=off: they are for tests and demos, not for data you want to keep.
#
# usage: scripts/pg-local.sh start|stop|status|env [source|shadow]
#   start/stop with a name act on that cluster only (the fault-injection tests stop and restart one).
#
# The role "scry_password_check" must log in with a password (scram-sha-256) even here, so that
# the tests can show what a wrong password does; every other role is trusted.
# Works as root (the servers run as the "postgres" OS user, which is how PostgreSQL insists on
# running) and as a normal user. Every command is idempotent. Data lives under PG_LOCAL_DIR
# (default: .pg-local/ in the repository, git-ignored). PG_BIN points at other server binaries.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOURCE_PORT=${PG_SOURCE_PORT:-54320}
SHADOW_PORT=${PG_SHADOW_PORT:-54321}
DIR=${PG_LOCAL_DIR:-$ROOT/.pg-local}
IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1
[[ $DIR == /* ]] || DIR=$PWD/$DIR
# The servers run as another user, who may not be allowed into the caller's directory.
cd /

die() { echo "pg-local: $*" >&2; exit 1; }
note() { echo "pg-local: $*" >&2; }

find_bin() {
  if [[ -n ${PG_BIN:-} ]]; then
    [[ -x $PG_BIN/pg_ctl ]] || die "PG_BIN=$PG_BIN has no pg_ctl; point it at a PostgreSQL server bin directory"
    echo "$PG_BIN"; return
  fi
  if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then echo /usr/lib/postgresql/15/bin; return; fi
  local best
  best=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $best && -x $best/pg_ctl ]]; then echo "$best"; return; fi
  echo ""
}

install_server() {
  [[ $IS_ROOT -eq 1 ]] || die "PostgreSQL server binaries not found; install Debian's postgresql package (sudo apt-get install postgresql) or set PG_BIN"
  note "PostgreSQL server binaries not found; installing Debian's postgresql package"
  # Don't let the package create and start its own cluster on 5432: we only want the binaries.
  mkdir -p /etc/postgresql-common
  if [[ ! -f /etc/postgresql-common/createcluster.conf ]]; then
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

BIN=$(find_bin)

# Runs a server-side command as the OS user that owns the clusters.
as_owner() {
  if [[ $IS_ROOT -eq 1 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# As root the data directory must be reachable by the postgres user. A clone under /root is not
# (/root is mode 700), so fall back to a directory under /var/tmp named after the clone.
resolve_dir() {
  if [[ $IS_ROOT -eq 1 ]]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' OS user; install Debian's postgresql package, which creates it"
    mkdir -p "$DIR"
    chown postgres: "$DIR"
    if ! runuser -u postgres -- test -w "$DIR" 2>/dev/null; then
      local fallback
      fallback=/var/tmp/scry-backfill-pg/$(printf '%s' "$DIR" | md5sum | cut -c1-12)
      if [[ -z ${PG_LOCAL_DIR_NOTED:-} ]]; then
        note "the postgres user cannot reach $DIR (a parent directory is private); using $fallback"
      fi
      DIR=$fallback
      mkdir -p "$DIR"
      chmod 755 /var/tmp/scry-backfill-pg
      chown postgres: "$DIR"
    fi
  else
    mkdir -p "$DIR"
  fi
}

cluster_dir() { echo "$DIR/$1"; }

is_running() {
  local data; data=$(cluster_dir "$1")
  [[ -f $data/PG_VERSION ]] && as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

psql_at() {
  local port=$1; shift
  "$BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

init_cluster() {
  local name=$1 port=$2 data
  data=$(cluster_dir "$name")
  if [[ ! -f $data/PG_VERSION ]]; then
    mkdir -p "$data"
    [[ $IS_ROOT -eq 1 ]] && chown postgres: "$data"
    chmod 700 "$data"
    as_owner "$BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$DIR/$name-initdb.log" 2>&1 \
      || { cat "$DIR/$name-initdb.log" >&2; die "initdb for $name failed"; }
    {
      echo "# written by scripts/pg-local.sh"
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = ''"
      echo "max_connections = 200"
      echo "shared_buffers = 128MB"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      echo "max_wal_size = 2GB"
      if [[ $name == source ]]; then
        echo "wal_level = logical"
        echo "max_replication_slots = 64"
        echo "max_wal_senders = 64"
      fi
    } | as_owner tee -a "$data/postgresql.conf" >/dev/null
    printf 'host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n' \
      | as_owner tee "$data/pg_hba.conf" >/dev/null
  fi
  if ! grep -q scry_password_check "$data/pg_hba.conf"; then
    as_owner sed -i '1i host all scry_password_check 127.0.0.1/32 scram-sha-256' "$data/pg_hba.conf"
    if is_running "$name"; then as_owner "$BIN/pg_ctl" -D "$data" reload >/dev/null; fi
  fi
  # The port may have been changed through PG_*_PORT since the cluster was created.
  as_owner sed -i -E "s/^port = [0-9]+$/port = $port/" "$data/postgresql.conf"
}

# TLS for tests of sslmode=verify-full: one local CA per PG_LOCAL_DIR signs a certificate for
# 127.0.0.1 that both clusters serve. Clients may still connect without TLS (sslmode=prefer).
ensure_tls() {
  local name=$1 data tls="$DIR/tls"
  data=$(cluster_dir "$name")
  command -v openssl >/dev/null || { note "openssl not found; $name runs without TLS"; return 0; }
  if [[ ! -f $tls/ca.crt ]]; then
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=scry-backfill local CA" \
      -keyout "$tls/ca.key" -out "$tls/ca.crt" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$tls/san.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 3650 \
      -extfile "$tls/san.ext" -out "$tls/server.crt" >/dev/null 2>&1
    chmod 644 "$tls/ca.crt"
  fi
  if [[ ! -f $data/server.crt ]]; then
    cp "$tls/server.crt" "$tls/server.key" "$data/"
    [[ $IS_ROOT -eq 1 ]] && chown postgres: "$data/server.crt" "$data/server.key"
    chmod 600 "$data/server.key"
  fi
  if ! grep -q "^ssl = on" "$data/postgresql.conf"; then
    printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" | as_owner tee -a "$data/postgresql.conf" >/dev/null
    if is_running "$name"; then as_owner "$BIN/pg_ctl" -D "$data" reload >/dev/null; fi
  fi
}

start_cluster() {
  local name=$1 port=$2 db=$3 data
  data=$(cluster_dir "$name")
  init_cluster "$name" "$port"
  ensure_tls "$name"
  if ! is_running "$name"; then
    as_owner "$BIN/pg_ctl" -D "$data" -l "$DIR/$name.log" -w -t 60 start >/dev/null \
      || { tail -n 20 "$DIR/$name.log" >&2; die "$name cluster did not start on port $port (see $DIR/$name.log)"; }
  fi
  if [[ -z $(psql_at "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
    psql_at "$port" -c "CREATE DATABASE \"$db\""
  fi
  echo "$name: running on 127.0.0.1:$port, database $db, data in $data"
}

stop_cluster() {
  local name=$1 data
  data=$(cluster_dir "$name")
  if is_running "$name"; then
    as_owner "$BIN/pg_ctl" -D "$data" -w -t 60 -m fast stop >/dev/null
    echo "$name: stopped"
  else
    echo "$name: not running"
  fi
}

cmd=${1:-}
which=${2:-both}
[[ $which == both || $which == source || $which == shadow ]] || die "unknown cluster '$which'; use source or shadow"
case $cmd in
  start)
    [[ -n $BIN ]] || { install_server; BIN=$(find_bin); [[ -n $BIN ]] || die "installing postgresql gave no server binaries"; }
    resolve_dir
    [[ $which == shadow ]] || start_cluster source "$SOURCE_PORT" app
    [[ $which == source ]] || start_cluster shadow "$SHADOW_PORT" shadow
    ;;
  stop)
    [[ -n $BIN ]] || { echo "no PostgreSQL server binaries; nothing to stop"; exit 0; }
    PG_LOCAL_DIR_NOTED=1 resolve_dir
    [[ $which == shadow ]] || stop_cluster source
    [[ $which == source ]] || stop_cluster shadow
    ;;
  status)
    [[ -n $BIN ]] || { echo "no PostgreSQL server binaries installed"; exit 3; }
    PG_LOCAL_DIR_NOTED=1 resolve_dir
    rc=0
    for pair in "source:$SOURCE_PORT" "shadow:$SHADOW_PORT"; do
      name=${pair%%:*}; port=${pair#*:}
      if is_running "$name"; then echo "$name: running on 127.0.0.1:$port ($(cluster_dir "$name"))"
      else echo "$name: stopped"; rc=3; fi
    done
    exit $rc
    ;;
  env)
    [[ -n $BIN ]] && PG_LOCAL_DIR_NOTED=1 resolve_dir
    cat <<EOF
export SCRY_TEST_SOURCE_HOST=127.0.0.1
export SCRY_TEST_SOURCE_PORT=$SOURCE_PORT
export SCRY_TEST_SHADOW_HOST=127.0.0.1
export SCRY_TEST_SHADOW_PORT=$SHADOW_PORT
export SCRY_TEST_USER=postgres
export SCRY_TEST_PASSWORD=
export PG_LOCAL_DIR=$DIR
export SCRY_TEST_SSL_ROOT_CERT=$DIR/tls/ca.crt
EOF
    ;;
  *)
    echo "usage: $0 start|stop|status|env [source|shadow]" >&2
    exit 2
    ;;
esac
