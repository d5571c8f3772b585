#!/usr/bin/env bash
# Install (Debian packages) and start the servers the scale-out tests use:
# PostgreSQL 15 and Redis 7, private instances on loopback only (and the
# pgbouncer binary, which the PgBouncer test starts itself).
#
#   bash tests/services.sh start   # install if needed, start, print env lines
#   bash tests/services.sh stop
#   bash tests/services.sh env     # the environment the tests read
#
# The instances live under $RAGKIT_SERVICES_DIR (default /tmp/ragkit-services)
# and listen on 127.0.0.1 only: PostgreSQL on 55432, Redis on 56379, so they
# never collide with a system PostgreSQL or Redis. PostgreSQL refuses to run
# as root, so its cluster belongs to the `postgres` user when we are root.
set -euo pipefail

DIR=${RAGKIT_SERVICES_DIR:-/tmp/ragkit-services}
PG_PORT=${RAGKIT_PG_PORT:-55432}
REDIS_PORT=${RAGKIT_REDIS_PORT:-56379}
PG_BIN=/usr/lib/postgresql/15/bin

log() { printf '==> %s\n' "$*" >&2; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  local need=()
  [ -x "$PG_BIN/postgres" ] || need+=(postgresql-15 postgresql-client-15)
  command -v redis-server >/dev/null || need+=(redis-server)
  [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The packages' own services are not wanted: we run private instances.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq "${need[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
  fi
}

pg_ctl_cmd() { echo "$PG_BIN/pg_ctl -D $DIR/pg -w -l $DIR/pg.log"; }

start_pg() {
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi
  if [ ! -f "$DIR/pg/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $DIR/pg"
    as_pg "$PG_BIN/initdb" -D "$DIR/pg" -U postgres --auth=trust -E UTF8 >/dev/null
    cat >> "$DIR/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$DIR'
max_connections = 200
fsync = on
EOF
  fi
  if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    # Not answering: a postmaster.pid left by a machine that stopped
    # without shutting PostgreSQL down would make pg_ctl refuse (or, with
    # its PID reused, believe it is running).
    as_pg $(pg_ctl_cmd) stop -m immediate >/dev/null 2>&1 || true
    rm -f "$DIR/pg/postmaster.pid"
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg $(pg_ctl_cmd) start >/dev/null
  fi
  as_pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qtAc \
    "SELECT 1 FROM pg_roles WHERE rolname = 'ragd'" | grep -q 1 ||
    as_pg psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc \
      "CREATE ROLE ragd LOGIN SUPERUSER" >/dev/null
}

start_redis() {
  mkdir -p "$DIR"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
      --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
    for _ in $(seq 50); do
      redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
}

print_env() {
  cat <<EOF
export RAGKIT_PG_URL=postgres://ragd@127.0.0.1:$PG_PORT/postgres
export RAGKIT_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/
export RAGKIT_PG_CTL="$( [ "$(id -u)" = 0 ] && echo "runuser -u postgres -- ")$(pg_ctl_cmd)"
EOF
}

case "${1:-start}" in
  start)
    install
    start_pg
    start_redis
    print_env
    ;;
  stop)
    as_pg $(pg_ctl_cmd) stop -m fast >/dev/null 2>&1 || true
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
