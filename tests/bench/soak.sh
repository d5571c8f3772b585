#!/usr/bin/env bash
# Soak (docs/RELIABILITY.md): 10 minutes of steady load on one release ragd
# (embedded defaults, dense retrieval) on loopback, with ragd's RSS sampled
# every minute beside the P95 of that minute.
#
#   bash tests/bench/soak.sh [DOCS=200] [PARAS=10]
#
# The load is tests/bench/soak.toml: 80 arrivals/s, 70% repeated (cached)
# questions, 25% distinct (uncached) ones, 5% ingests cycling over 10 ids.
# A steady state shows no upward trend in either column.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-200}
PARAS=${2:-10}
PORT=18091
B=http://127.0.0.1:$PORT
cargo build --release -q -p ragd -p loadgen
RAGD=target/release/ragd
LG=target/release/loadgen
WORK=$(mktemp -d)
trap 'kill $PID $SAMPLER 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
bench_machine
python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50
RUST_LOG=warn RAGD_RETRIEVAL__MODE=dense $RAGD serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" 2>"$WORK/ragd.log" &
PID=$!
bench_wait_up $B 60
bench_load $B "$WORK/corpus"
( for m in $(seq 0 10); do echo "$m $(awk '/VmRSS/{print $2}' /proc/$PID/status)"; sleep 60; done ) >"$WORK/rss" &
SAMPLER=$!
$LG run tests/bench/soak.toml --target $B --quiet --json >"$WORK/soak.json" || true
kill -0 $PID || { echo "ragd died during the soak"; tail "$WORK/ragd.log"; exit 1; }
python3 - "$WORK/soak.json" "$WORK/rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rss = dict(line.split() for line in open(sys.argv[2]))
print("minute  requests  errors  p95 ms  p99 ms  RSS MiB (at its end)")
for i, s in enumerate(r["stages"], 1):
    st = s["stats"] if "stats" in s else s
    mib = int(rss.get(str(i), "0")) / 1024
    print(f"{i:6}  {st['count']:8}  {st['failed']:6}  {st['latency_ms']['p95']:6.1f}  {st['latency_ms']['p99']:6.1f}  {mib:7.0f}")
t = r["total"]
print(f"total: {t['count']} requests, {t['failed']} failed, p95 {t['latency_ms']['p95']:.1f} ms; passed: {r['passed']}")
print(f"RSS before the load: {int(rss.get('0','0'))/1024:.0f} MiB")
PY
