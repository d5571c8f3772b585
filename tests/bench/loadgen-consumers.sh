#!/usr/bin/env bash
# What loadgen's record consumers cost: CPU per request of the same open
# run (10,000 arrivals/s on a trivial loopback endpoint, one thread) with
# nothing but the report, then with the Prometheus endpoint (scraped every
# second, as Prometheus would), the per-request CSV, the live view (in a
# pseudo-terminal, as on a user's screen), and all three together
# (docs/BENCHMARKS.md, "What watching a run costs").
#
#   bash tests/bench/loadgen-consumers.sh [SECONDS=10] [ROUNDS=2]
#
# The peer is the run without consumers, measured in the same session and
# interleaved with the others (round 1 of every variant, then round 2), so
# drift on a shared machine hits all of them alike. The endpoint is nginx
# (one worker) answering every GET with ragd's /health body from memory, as
# in loadgen-ceiling.sh. Traffic stays on 127.0.0.1; every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
SECS=${1:-10}
ROUNDS=${2:-2}
PORT=18097
METRICS=127.0.0.1:19465
[ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx-light; }
command -v script >/dev/null || { apt-get update -qq && apt-get install -y -qq bsdutils; }
cargo build --release -q -p loadgen
LOADGEN=${CARGO_TARGET_DIR:-$PWD/target}/release/loadgen
WORK=$(mktemp -d)
cleanup() {
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$PORT;
    location / {
      default_type application/json;
      return 200 '{"status":"ok","version":"0.1.0"}';
    }
  }
}
EOF
/usr/sbin/nginx -c "$WORK/nginx.conf"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
TARGET=http://127.0.0.1:$PORT

# The open ceiling profile at 10,000 arrivals/s (below loadgen's one-thread
# ceiling, so every variant sends the same requests), for SECS seconds.
sed -e "s/duration = \"10s\"/duration = \"${SECS}s\"/" -e 's/rate = 20000/rate = 10000/' \
  tests/bench/loadgen-open-ceiling.toml > "$WORK/open.toml"

bench_machine
echo "endpoint: nginx, 1 worker, $TARGET/health; 10,000 arrivals/s for $SECS s, one loadgen thread; $ROUNDS rounds"
echo

# run NAME ARGS...: one timed run; appends "NAME requests cpu" to results.
run() {
  local name=$1
  shift
  local args=(run "$WORK/open.toml" --target "$TARGET" --no-setup --threads 1
    --report "$WORK/out.json" "$@")
  if [ "$name" = "live view" ] || [ "$name" = "all three" ]; then
    # A pseudo-terminal for the view; only loadgen is timed.
    script -qec "/usr/bin/time -f 'CPU %U %S' -o $WORK/time $LOADGEN ${args[*]} --tui" /dev/null \
      > /dev/null
  else
    /usr/bin/time -f "CPU %U %S" -o "$WORK/time" "$LOADGEN" "${args[@]}" -q > /dev/null 2> "$WORK/err" \
      || { cat "$WORK/err" >&2; exit 1; }
  fi
  local n cpu
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total']['count'])" "$WORK/out.json")
  cpu=$(awk '/^CPU /{printf "%.2f", $2 + $3}' "$WORK/time")
  echo "$name|$n|$cpu" >> "$WORK/results"
}

# Scrape the endpoint once a second while a run goes on.
scraping() {
  for _ in $(seq $((SECS + 2))); do
    sleep 1
    curl -sf "http://$METRICS/metrics" > /dev/null || true
  done
}

for _ in $(seq "$ROUNDS"); do
  run "nothing (peer)"
  scraping &
  run "metrics endpoint" --metrics-listen "$METRICS"
  wait
  run "per-request CSV" --requests-csv "$WORK/requests.csv"
  run "live view"
  scraping &
  run "all three" --metrics-listen "$METRICS" --requests-csv "$WORK/requests.csv"
  wait
done

python3 - "$WORK/results" <<'EOF'
import sys
from collections import defaultdict
runs = defaultdict(list)
order = []
for line in open(sys.argv[1]):
    name, n, cpu = line.strip().split("|")
    if name not in runs:
        order.append(name)
    runs[name].append((int(n), float(cpu)))
us = {k: [c * 1e6 / n for n, c in v] for k, v in runs.items()}
peer = sum(us["nothing (peer)"]) / len(us["nothing (peer)"])
print("| consumers | requests per run | CPU per request, each round | mean | vs peer |")
print("|---|---|---|---|---|")
for k in order:
    mean = sum(us[k]) / len(us[k])
    print(f"| {k} | {runs[k][0][0]} | {' / '.join(f'{u:.2f} µs' for u in us[k])} | {mean:.2f} µs | {mean / peer:.2f}x |")
EOF
