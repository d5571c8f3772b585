#!/usr/bin/env bash
# Query throughput of 1, 2 and 4 ragd replicas on PostgreSQL + Redis, cache
# cold and warm, and the same single replica on embedded defaults: the cost
# of the network hop (docs/BENCHMARKS.md, "Scale-out").
#
#   bash tests/bench/replicas.sh [DOCS=300] [PARAS=10] [SECONDS=15]
#
# Starts PostgreSQL and Redis (tests/services.sh, loopback), nginx as the
# load balancer on 127.0.0.1:18090 for the multi-replica runs, and wrk.
# All traffic stays on loopback; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-300}
PARAS=${2:-10}
SECS=${3:-15}
RETRIEVAL=${RETRIEVAL:-sparse}
export RETRIEVAL
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx-light; }
eval "$(bash tests/services.sh start)"
cargo build --release -q -p ragd
BIN=$PWD/target/release/ragd
WORK=$(mktemp -d)
PIDS=()
NGINX_PID=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bench_machine
echo "retrieval mode: $RETRIEVAL, $DOCS documents x $PARAS paragraphs, $SECS s per run"
python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50

DB=ragbench_$$
psql -q "$RAGKIT_PG_URL" -c "CREATE DATABASE $DB" >/dev/null
trap 'cleanup; psql -q "$RAGKIT_PG_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
cat > "$WORK/shared.toml" <<TOML
[metadata]
kind = "postgres"
url = "${RAGKIT_PG_URL%/*}/$DB"
max_connections = 16
replicas = 4
[redis]
url = "$RAGKIT_REDIS_URL"
prefix = "$DB"
[cache]
kind = "redis"
TOML
: > "$WORK/embedded.toml"

# start N replicas of config C on ports 18081..; sets PIDS
start_replicas() {
  local conf=$1 n=$2
  for i in $(seq 1 "$n"); do
    RUST_LOG=warn,qdrant_edge=error "$BIN" -c "$WORK/$conf.toml" serve --listen 127.0.0.1:$((18080 + i)) \
      --data-dir "$WORK/data-$conf-$i" &
    PIDS+=($!)
  done
  for i in $(seq 1 "$n"); do bench_wait_up http://127.0.0.1:$((18080 + i)); done
}
stop_replicas() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

start_nginx() {
  local n=$1
  {
    echo "worker_processes 1; pid $WORK/nginx.pid; error_log $WORK/nginx.err warn; daemon off;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; upstream ragd { least_conn;"
    for i in $(seq 1 "$n"); do echo "server 127.0.0.1:$((18080 + i));"; done
    echo "keepalive 64; }"
    echo "server { listen 127.0.0.1:18090; location / { proxy_pass http://ragd; proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }"
  } > "$WORK/nginx.conf"
  /usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK" &
  NGINX_PID=$!
  bench_wait_up http://127.0.0.1:18090
}
stop_nginx() { [ -n "$NGINX_PID" ] && { kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""; }; }

measure() {
  local label=$1 b=$2
  local cold warm
  cold=$(QUERY_MODE=unique wrk -t1 -c32 -d"${SECS}s" --latency -s tests/bench/query.lua "$b" | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r, p}')
  curl -sf "$b/v1/collections/bench/query" -H 'content-type: application/json' \
    -d "{\"question\":\"What happened to the river dam during the migration?\",\"top_k\":5,\"mode\":\"$RETRIEVAL\"}" >/dev/null
  warm=$(QUERY_MODE=same wrk -t1 -c32 -d"${SECS}s" --latency -s tests/bench/query.lua "$b" | awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r, p}')
  printf '%-28s cold %8s req/s p99 %-9s  warm %8s req/s p99 %s\n' "$label" ${cold} ${warm}
}

echo "== embedded defaults, 1 replica, direct"
start_replicas embedded 1
bench_load http://127.0.0.1:18081 "$WORK/corpus"
bench_wait_indexed http://127.0.0.1:18081
measure "embedded x1 (direct)" http://127.0.0.1:18081
stop_replicas

echo "== PostgreSQL + Redis"
start_replicas shared 1
start=$(date +%s.%N)
bench_load http://127.0.0.1:18081 "$WORK/corpus"
end=$(date +%s.%N)
python3 -c "print(f'ingest through replica 1: {$DOCS} requests in {$end-$start:.1f} s')"
bench_wait_indexed http://127.0.0.1:18081
measure "postgres+redis x1 (direct)" http://127.0.0.1:18081
for n in 1 2 4; do
  stop_replicas
  start=$(date +%s.%N)
  start_replicas shared "$n"
  end=$(date +%s.%N)
  python3 -c "print(f'{$n} replica(s) up, index rebuilt from the log, in {$end-$start:.1f} s')"
  for i in $(seq 1 "$n"); do bench_wait_indexed http://127.0.0.1:$((18080 + i)); done
  start_nginx "$n"
  measure "postgres+redis x$n (nginx)" http://127.0.0.1:18090
  stop_nginx
done
stop_replicas
