#!/usr/bin/env bash
# Build the image `ragd:local` from a ragd binary built on this machine,
# without pulling anything (no base image, no registry): the same way
# ragctl/tests/docker.rs does it.
#
#   cargo build --release -p ragd      # once (the script does not compile)
#   bash compose/build-image.sh        # -> ragd:local
#   bash compose/build-image.sh target/debug/ragd ragd:debug
#
# How: a root filesystem holding only /ragd, the shared libraries `ldd`
# lists for it (libc, libm, libgcc_s, the dynamic loader...), an empty /data
# and /tmp, is piped as a tar into `docker import`, which turns it into a
# one-layer image; `--change` adds what a Dockerfile would (entrypoint,
# environment, port, user, healthcheck). Settings come from the environment
# (RAGD_SECTION__KEY, docs/CONFIGURATION.md), never from flags, so compose
# files can override every one of them.
#
# The image runs as the numeric user 10001 (group 10001), which owns /data;
# it has no shell and no curl, so its HEALTHCHECK is ragd's own client:
# `/ragd probe --ready` exits 0 when http://127.0.0.1:8080/ready answers 200,
# 1 otherwise. The Dockerfile at the repository root builds the same image
# (compiling inside a container) where a registry is reachable.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${1:-}
IMAGE=${2:-ragd:local}
if [ -z "$BIN" ]; then
  # The release binary if there is one, else the debug one.
  for b in target/release/ragd target/debug/ragd; do
    [ -x "$b" ] && BIN=$b && break
  done
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || {
  echo "no ragd binary: run 'cargo build --release -p ragd' first (or pass its path)" >&2
  exit 1
}

# ragd's probe subcommand is the healthcheck: warn when this binary has none.
if ! "$BIN" probe --help >/dev/null 2>&1; then
  echo "warning: $BIN has no 'probe' subcommand: the image's HEALTHCHECK will report unhealthy" >&2
fi

# The user the image runs as: not root, numeric so no lookup is needed.
UID_GID=10001
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/data" "$ROOT/tmp" "$ROOT/etc"
chmod 1777 "$ROOT/tmp"
# /data belongs to the image's user: a new volume mounted there inherits it.
chown "$UID_GID:$UID_GID" "$ROOT/data" 2>/dev/null || {
  echo "cannot chown $ROOT/data to $UID_GID (run as root, or with sudo)" >&2
  exit 1
}
# Names for the numeric ids (ps, ls -n in the container's filesystem).
echo "ragd:x:$UID_GID:$UID_GID:ragd:/data:/nonexistent" > "$ROOT/etc/passwd"
echo "ragd:x:$UID_GID:" > "$ROOT/etc/group"
cp "$BIN" "$ROOT/ragd"
# Every absolute path ldd prints (`libc.so.6 => /lib/.../libc.so.6 (0x...)`,
# `/lib64/ld-linux-x86-64.so.2 (0x...)`), copied with its directories and
# symlinks resolved.
for lib in $(ldd "$BIN" | grep -o '/[^ ]*'); do
  cp --parents -L "$lib" "$ROOT"
done
# Host names (postgres, redis, qdrant) resolve through Docker's DNS.
echo 'hosts: files dns' > "$ROOT/etc/nsswitch.conf"

tar -C "$ROOT" -c . | docker import \
  --change 'ENTRYPOINT ["/ragd"]' \
  --change 'CMD ["serve"]' \
  --change 'ENV RAGD_SERVER__LISTEN=0.0.0.0:8080' \
  --change 'ENV RAGD_STORAGE__DATA_DIR=/data' \
  --change 'EXPOSE 8080' \
  --change "USER $UID_GID:$UID_GID" \
  --change 'HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["/ragd", "probe", "--ready"]' \
  - "$IMAGE" >/dev/null
echo "built $IMAGE (user $UID_GID, healthcheck: /ragd probe --ready) from $BIN ($(du -h "$BIN" | cut -f1) binary + $(ldd "$BIN" | grep -c '/') libraries)"
