#!/usr/bin/env bash
# loadgen's own ceiling: requests/s and CPU per request against a trivial
# loopback endpoint, beside wrk (and oha, when installed) in the same run
# (docs/BENCHMARKS.md, "loadgen's own ceiling").
#
#   bash tests/bench/loadgen-ceiling.sh [SECONDS=10]
#
# The endpoint is nginx (one worker) answering every GET with ragd's
# /health body from memory: as little server CPU per request as possible,
# so the two clients compete for the same, mostly idle, machine. Closed
# model: 32 connections, with 1 and then 2 client threads. Open model:
# 20,000 arrivals/s, beside oha at the same fixed rate; then latency at
# 500 requests/s, loadgen beside oha. Traffic stays on
# 127.0.0.1; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
SECS=${1:-10}
PORT=18096
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx-light; }
cargo build --release -q -p loadgen
LOADGEN=$PWD/target/release/loadgen
OHA=$(command -v oha || true)
[ -z "$OHA" ] && [ -x "$HOME/.cargo/bin/oha" ] && OHA=$HOME/.cargo/bin/oha
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

# The closed-model profile with this run's duration.
sed "s/duration = \"10s\"/duration = \"${SECS}s\"/" tests/bench/loadgen-ceiling.toml > "$WORK/closed.toml"
sed "s/duration = \"10s\"/duration = \"${SECS}s\"/" tests/bench/loadgen-open-ceiling.toml > "$WORK/open.toml"

bench_machine
echo "endpoint: nginx $(/usr/sbin/nginx -v 2>&1 | cut -d/ -f2), 1 worker, $TARGET/health; $SECS s per run"
echo
echo "| tool | threads | connections | requests | req/s | CPU user+sys (s) | CPU per request | vs wrk, same threads |"
echo "|---|---|---|---|---|---|---|---|"

lg_failed() { echo "loadgen failed:" >&2; cat "$WORK/err" >&2; exit 1; }
# cpu_of FILE: user+sys seconds that /usr/bin/time wrote as "CPU <user> <sys>".
cpu_of() { awk '/^CPU /{printf "%.2f", $2 + $3}' "$1"; }
row() { # tool threads conns requests seconds cpu base_us
  local us ratio
  us=$(awk -v c="$6" -v n="$4" 'BEGIN{printf "%.2f", c * 1e6 / n}')
  ratio=$(awk -v u="$us" -v b="$7" 'BEGIN{ if (b > 0) printf "%.2fx", u / b; else print "1.00x (peer)" }')
  printf "| %s | %s | %s | %d | %.0f | %s | %s µs | %s |\n" "$1" "$2" "$3" "$4" "$(awk -v n="$4" -v s="$5" 'BEGIN{print n / s}')" "$6" "$us" "$ratio"
}

for T in 1 2; do
  /usr/bin/time -f "CPU %U %S" -o "$WORK/time" wrk -t$T -c32 -d${SECS}s "$TARGET/health" > "$WORK/wrk.out"
  n=$(awk '/requests in/{print $1}' "$WORK/wrk.out")
  secs=$(awk '/requests in/{gsub("s,","",$4); print $4}' "$WORK/wrk.out")
  cpu=$(cpu_of "$WORK/time")
  base=$(awk -v c="$cpu" -v n="$n" 'BEGIN{printf "%.4f", c * 1e6 / n}')
  row "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')" "$T" 32 "$n" "$secs" "$cpu" 0

  /usr/bin/time -f "CPU %U %S" -o "$WORK/time" "$LOADGEN" run "$WORK/closed.toml" --target "$TARGET" \
    --no-setup -q --threads $T --report "$WORK/closed.json" > /dev/null 2> "$WORK/err" || lg_failed
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total']['count'])" "$WORK/closed.json")
  secs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['elapsed_s'])" "$WORK/closed.json")
  row "loadgen closed model" "$T" 32 "$n" "$secs" "$(cpu_of "$WORK/time")" "$base"
done

echo
echo "Open model, 20,000 arrivals/s asked, one thread, at most 64 in flight:"
echo
echo "| tool | requests | req/s | CPU user+sys (s) | CPU per request | p50 | p99 |"
echo "|---|---|---|---|---|---|---|"
/usr/bin/time -f "CPU %U %S" -o "$WORK/time" "$LOADGEN" run "$WORK/open.toml" --target "$TARGET" \
  --no-setup -q --threads 1 --report "$WORK/open.json" > /dev/null 2> "$WORK/err" || lg_failed
python3 - "$WORK/open.json" "$(cpu_of "$WORK/time")" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); cpu = float(sys.argv[2]); t = r["total"]
print(f"| loadgen open model | {t['count']} | {t['rps']:.0f} | {cpu:.2f} | {cpu * 1e6 / t['count']:.2f} µs "
      f"| {t['latency_ms']['p50']:.3f} ms | {t['latency_ms']['p99']:.3f} ms |")
EOF
if [ -n "$OHA" ]; then
  /usr/bin/time -f "CPU %U %S" -o "$WORK/time" "$OHA" -q 20000 -z ${SECS}s -c 64 --no-tui --output-format json \
    "$TARGET/health" > "$WORK/oha.json"
  python3 - "$WORK/oha.json" "$(cpu_of "$WORK/time")" "$("$OHA" --version | awk '{print $2}')" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); cpu = float(sys.argv[2]); s = r["summary"]
n = sum(r["statusCodeDistribution"].values())
p = r["latencyPercentiles"]
print(f"| oha {sys.argv[3]} -q 20000 | {n} | {s['requestsPerSec']:.0f} | {cpu:.2f} | {cpu * 1e6 / n:.2f} µs "
      f"| {p['p50'] * 1000:.3f} ms | {p['p99'] * 1000:.3f} ms |")
EOF
else
  echo "(oha not installed: \`cargo install oha\` adds it to this table)"
fi

echo
echo "Latency agreement at a fixed rate, 500 requests/s for 20 s (tests/bench/loadgen-fixed-rate.toml):"
echo
echo "| tool | requests | p50 | p90 | p99 |"
echo "|---|---|---|---|---|"
"$LOADGEN" run tests/bench/loadgen-fixed-rate.toml --target "$TARGET" --no-setup -q \
  --report "$WORK/fixed.json" > /dev/null 2> "$WORK/err" || lg_failed
python3 - "$WORK/fixed.json" <<'EOF2'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
for label, k in (("loadgen, from the intended start (reported)", "latency_ms"), ("loadgen, from the actual send", "service_ms")):
    p = t[k]
    print(f"| {label} | {t['count']} | {p['p50']:.3f} ms | {p['p90']:.3f} ms | {p['p99']:.3f} ms |")
EOF2
if [ -n "$OHA" ]; then
  "$OHA" -q 500 -z 20s -c 64 --no-tui --output-format json "$TARGET/health" > "$WORK/oha-fixed.json"
  python3 - "$WORK/oha-fixed.json" <<'EOF2'
import json, sys
r = json.load(open(sys.argv[1])); p = r["latencyPercentiles"]
n = sum(r["statusCodeDistribution"].values())
print(f"| oha -q 500 | {n} | {p['p50'] * 1000:.3f} ms | {p['p90'] * 1000:.3f} ms | {p['p99'] * 1000:.3f} ms |")
EOF2
fi
