#!/usr/bin/env bash
# The cost of auth and limits on cached questions (docs/RELIABILITY.md),
# release build, one ragd on loopback, embedded defaults.
#
#   bash tests/bench/authcost.sh [PAIRS=8] [SECONDS=10]
#
# "off": no keys, no rate limit. "on": [auth] enabled, the request carries
# a query key, and a query rate limit too large to refuse anything, so every
# request pays for the key check (hash and compare), the GCRA check and its
# three RateLimit-* headers.
#
# ragd is pinned to core 0 and wrk (1 thread, 32 connections) to core 1,
# so neither steals the other's core and ragd's one core is the bottleneck.
# The two configurations alternate PAIRS times (off, on, off, on ...), each
# run SECONDS long on a freshly started ragd, so slow drifts of the machine
# hit both alike. Reported: req/s of each run, the on/off ratio of each
# pair, their median; and ragd's CPU time per request (utime + stime from
# /proc over the run), the cost itself in microseconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
PAIRS=${1:-8}
SECS=${2:-10}
PORT=18091
B=http://127.0.0.1:$PORT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ "$(nproc)" -ge 2 ] || { echo "authcost: needs 2 cores (ragd on one, wrk on the other)" >&2; exit 2; }
# RAGKIT_RAGD_BIN=PATH measures another build (see bench_ragd_bin in lib.sh).
RAGD=$(bench_ragd_bin)
WORK=$(mktemp -d)
PID=
stop_ragd() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; PID=; }
trap 'stop_ragd; rm -rf "$WORK"' EXIT
TICK=$(getconf CLK_TCK)

start_ragd() {
  env RUST_LOG=warn RAGD_RETRIEVAL__MODE=dense "$@" \
    taskset -c 0 $RAGD serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" 2>>"$WORK/ragd.log" &
  PID=$!
  bench_wait_up $B 60 || { tail "$WORK/ragd.log"; exit 1; }
}
cpu_ticks() { awk '{print $14 + $15}' /proc/$PID/stat; }

bench_machine
start_ragd
bench_two_documents $B
stop_ragd
KEY=$($RAGD keys create --name bench --scope query --data-dir "$WORK/data" 2>/dev/null | tail -1)
Q=$B/v1/collections/bench/query

# run MODE: one run; prints "req/s us_per_req"
run() {
  local H=()
  if [ "$1" = on ]; then
    start_ragd RAGD_AUTH__ENABLED=true RAGD_RATE_LIMIT__QUERIES_PER_MINUTE=1000000000 RAGD_RATE_LIMIT__QUERY_BURST=1000000
    H=(-H "Authorization: Bearer $KEY")
  else
    start_ragd
  fi
  curl -sf "$Q" "${H[@]}" -H 'content-type: application/json' \
    -d '{"question":"What happened to the river dam during the migration?","top_k":5,"mode":"dense"}' >/dev/null
  # Warm-up: connections, caches, allocator.
  QUERY_MODE=same taskset -c 1 wrk -t1 -c32 -d2s "${H[@]}" -s tests/bench/query.lua $B >/dev/null
  local t0; t0=$(cpu_ticks)
  local out; out=$(QUERY_MODE=same taskset -c 1 wrk -t1 -c32 -d${SECS}s "${H[@]}" -s tests/bench/query.lua $B)
  local t1; t1=$(cpu_ticks)
  stop_ragd
  if echo "$out" | grep -q "Non-2xx"; then echo "authcost: non-2xx answers in the $1 run:" >&2; echo "$out" >&2; exit 1; fi
  local total; total=$(echo "$out" | awk '/requests in/{print $1}')
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  python3 -c "import sys; t,n,tick,rps=map(float,sys.argv[1:]); print(f'{rps:.0f} {t/tick/n*1e6:.2f}')" \
    $((t1 - t0)) "$total" "$TICK" "$rps"
}

echo "== cached questions, wrk -t1 -c32 ${SECS}s per run, ragd on core 0, wrk on core 1, $PAIRS pairs"
printf '%-5s %12s %12s %14s %14s %8s\n' pair "off req/s" "on req/s" "off µs/req" "on µs/req" "on/off"
ratios=(); off_us=(); on_us=()
for i in $(seq "$PAIRS"); do
  read -r off_rps off_cpu < <(run off)
  read -r on_rps on_cpu < <(run on)
  ratio=$(python3 -c "print(f'{$on_rps/$off_rps:.3f}')")
  ratios+=("$ratio"); off_us+=("$off_cpu"); on_us+=("$on_cpu")
  printf '%-5s %12s %12s %14s %14s %8s\n' "$i" "$off_rps" "$on_rps" "$off_cpu" "$on_cpu" "$ratio"
done
python3 - "${ratios[*]}" "${off_us[*]}" "${on_us[*]}" <<'PY'
import statistics, sys
r = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
on = [float(x) for x in sys.argv[3].split()]
print(f"throughput on/off: median {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f}; target >= 0.95)")
print(f"ragd CPU per request: off {statistics.median(off):.2f} µs, on {statistics.median(on):.2f} µs (medians): "
      f"auth and limits cost {statistics.median(on) - statistics.median(off):.2f} µs per request")
PY
