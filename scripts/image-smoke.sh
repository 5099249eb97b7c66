#!/usr/bin/env bash
# Builds the container image and runs it, on a machine without a Docker engine or registry access
# (run as root; not a test: it builds and starts clusters). What it proves: the image Jib builds
# (`-Pimage`) starts its entrypoint as the image's user, reads its configuration and secrets from
# files, takes a snapshot and streams against the local PostgreSQL pair, and writes only JSON lines
# to stdout and nothing to stderr.
#
# The image's real base (eclipse-temurin:17-jre) comes from a registry. Here a stand-in base is
# made from this machine's JDK instead: a JRE cut with jlink (the modules a Temurin JRE has and the
# service uses), /bin/sh and the shared libraries they need, saved as an image tarball that Jib
# takes as `-Dimage.base=tar://...`. The image is then unpacked and its entrypoint run in a chroot
# with its own /proc, /dev and /tmp, as user 10001.
#
# PG_SOURCE_PORT / PG_SHADOW_PORT / PG_LOCAL_DIR pick the local pair (default 54350/54351 under
# .pg-local/image-smoke); the pair is left running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[[ $(id -u) -eq 0 ]] || { echo "image-smoke: needs root (chroot, mounts)" >&2; exit 1; }
OUT=$ROOT/backfill-app/target/image-smoke
export PG_SOURCE_PORT=${PG_SOURCE_PORT:-54350}
export PG_SHADOW_PORT=${PG_SHADOW_PORT:-$((PG_SOURCE_PORT + 1))}
export PG_LOCAL_DIR=${PG_LOCAL_DIR:-$ROOT/.pg-local/image-smoke}
JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
step() { printf '\n== %s\n' "$*"; }

step "a stand-in base image from $JAVA_HOME"
rm -rf "$OUT" && mkdir -p "$OUT/base/rootfs"
BASE=$OUT/base/rootfs
"$JAVA_HOME/bin/jlink" --strip-debug --no-header-files --no-man-pages --output "$BASE/opt/java/openjdk" \
  --add-modules java.se,jdk.unsupported,jdk.httpserver,jdk.crypto.ec,jdk.management,jdk.zipfs,jdk.naming.dns,jdk.charsets,jdk.localedata
mkdir -p "$BASE/bin" "$BASE/tmp" "$BASE/proc" "$BASE/dev" "$BASE/etc"
chmod 1777 "$BASE/tmp"
cp "$(readlink -f /bin/sh)" "$BASE/bin/sh"
for binary in "$BASE/bin/sh" "$BASE/opt/java/openjdk/bin/java" "$BASE"/opt/java/openjdk/lib/*.so "$BASE"/opt/java/openjdk/lib/server/*.so; do
  ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    mkdir -p "$BASE$(dirname "$lib")" && cp -nL "$lib" "$BASE$lib"
  done
done
echo "root:x:0:0:root:/root:/bin/sh" > "$BASE/etc/passwd"
python3 - "$OUT/base" <<'PY'
import hashlib, json, os, sys, tarfile
out = sys.argv[1]
layer = os.path.join(out, "layer.tar")
with tarfile.open(layer, "w") as t:
    t.add(os.path.join(out, "rootfs"), arcname=".")
digest = hashlib.sha256(open(layer, "rb").read()).hexdigest()
config = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/opt/java/openjdk/bin:/usr/local/bin:/usr/bin:/bin", "JAVA_HOME=/opt/java/openjdk"]},
          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + digest]}}
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f)
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump([{"Config": "config.json", "RepoTags": ["stand-in-jre:17"], "Layers": ["layer.tar"]}], f)
with tarfile.open(os.path.join(out, "..", "base.tar"), "w") as t:
    for name in ("manifest.json", "config.json", "layer.tar"):
        t.add(os.path.join(out, name), arcname=name)
PY
ls -la "$OUT/base.tar"

step "the image (mvn -Pimage, Jib buildTar on the stand-in base)"
mvn -B -q -Pimage -DskipTests package -pl backfill-app -am -Dimage.base="tar://$OUT/base.tar"
IMAGE=$ROOT/backfill-app/target/jib-image.tar
mkdir -p "$OUT/image" "$OUT/rootfs"
tar -xf "$IMAGE" -C "$OUT/image"
python3 - "$OUT/image" <<'PY'
import json, os, sys
d = sys.argv[1]
manifest = json.load(open(os.path.join(d, "manifest.json")))[0]
config = json.load(open(os.path.join(d, manifest["Config"])))
sizes = [os.path.getsize(os.path.join(d, l)) for l in manifest["Layers"]]
print("layers (compressed bytes):", sizes, "- the first is the stand-in base")
print("image config:", json.dumps({k: config["config"].get(k) for k in ("Entrypoint", "Cmd", "User", "Env", "ExposedPorts", "WorkingDir")}))
open(os.path.join(d, "layers"), "w").write("\n".join(manifest["Layers"]) + "\n")
open(os.path.join(d, "env"), "w").write("\n".join(config["config"]["Env"]) + "\n")
PY
while read -r layer; do tar -xzf "$OUT/image/$layer" -C "$OUT/rootfs" 2>/dev/null || tar -xf "$OUT/image/$layer" -C "$OUT/rootfs"; done < "$OUT/image/layers"
ls -la "$IMAGE"
du -sh "$OUT/rootfs/app/libs" "$OUT/rootfs/app/classes" "$OUT/rootfs/opt/java/openjdk"

step "a source with rows, a mounted configuration and secrets"
scripts/pg-local.sh start
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
src() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_SOURCE_PORT" -U postgres -d app "$@"; }
shd() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_SHADOW_PORT" -U postgres -d shadow "$@"; }
R=$OUT/rootfs
run_image() {
  # The image's own environment, a private /proc, /dev and /tmp, the image's user.
  # shellcheck disable=SC2016
  unshare --mount --pid --fork sh -c '
    R=$1 ENV=$2 ENV_FILE=$3 CHROOT=$4; shift 4
    mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" && mount -t tmpfs tmpfs "$R/tmp" &&
    exec "$ENV" -i $(cat "$ENV_FILE") "$CHROOT" --userspec=10001:10001 "$R" /usr/local/bin/backfill "$@"' \
    sh "$R" "$(command -v env)" "$OUT/image/env" "$(command -v chroot)" "$@"
}
teardown_previous() {
  run_image teardown -c /etc/scry-backfill/config.yaml --drop-metadata >/dev/null 2>&1 || true
  shd -c "DROP TABLE IF EXISTS public.smoke"
}
src -c "DROP TABLE IF EXISTS smoke; CREATE TABLE smoke (id int PRIMARY KEY, v text);
        INSERT INTO smoke SELECT g, md5(g::text) FROM generate_series(1, 20000) g"
mkdir -p "$R/etc/scry-backfill" "$R/var/run/secrets/scry-backfill"
printf 'not-needed-on-the-local-pair\n' > "$R/var/run/secrets/scry-backfill/source-password"
printf 'not-needed-on-the-local-pair\n' > "$R/var/run/secrets/scry-backfill/shadow-password"
chmod 0440 "$R"/var/run/secrets/scry-backfill/*; chgrp 10001 "$R"/var/run/secrets/scry-backfill/*
cat > "$R/etc/scry-backfill/config.yaml" <<YAML
pipeline: image_smoke
source: {host: 127.0.0.1, port: $PG_SOURCE_PORT, database: app, user: postgres,
         password-file: /var/run/secrets/scry-backfill/source-password}
shadow: {host: 127.0.0.1, port: $PG_SHADOW_PORT, database: shadow, user: postgres,
         password-file: /var/run/secrets/scry-backfill/shadow-password}
tables: [public.smoke]
metrics: {host: 0.0.0.0, port: 0}
standby: true
YAML
teardown_previous

step "the entrypoint: resume --snapshot-if-new, then resume, with --exit-when-caught-up --log-format json"
: > "$OUT/stdout"; : > "$OUT/stderr"
for round in snapshot stream; do
  [[ $round == stream ]] && src -c "UPDATE smoke SET v = 'changed' WHERE id <= 500; DELETE FROM smoke WHERE id > 19900"
  set +e
  run_image resume --snapshot-if-new --exit-when-caught-up --log-format json -c /etc/scry-backfill/config.yaml \
    >> "$OUT/stdout" 2>> "$OUT/stderr"
  code=$?
  set -e
  echo "$round: exit $code"
  [[ $code -eq 0 ]] || { cat "$OUT/stdout" "$OUT/stderr"; exit 1; }
done
grep -o 'caught up.*' "$OUT/stdout" | tail -n 1
[[ ! -s $OUT/stderr ]] || { echo "image-smoke: the image wrote to stderr:"; cat "$OUT/stderr"; exit 1; }
count() { "$1" -At -c "SELECT count(*), sum(hashtext(v)) FROM smoke"; }
[[ $(count src) == "$(count shd)" ]] || { echo "image-smoke: shadow differs: $(count src) vs $(count shd)"; exit 1; }
echo "source and shadow equal: $(count shd | tr '|' ' ') (rows, sum of hashes)"
teardown_previous
python3 - "$OUT/stdout" <<'PY'
import json, sys
lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
bad = []
for l in lines:
    try:
        json.loads(l)
    except ValueError:
        bad.append(l)
print(f"stdout: {len(lines)} lines, {len(lines) - len(bad)} of them JSON")
if bad:
    print("image-smoke: not JSON under --log-format json:\n  " + "\n  ".join(bad))
    sys.exit(1)
PY
echo "image smoke passed"
