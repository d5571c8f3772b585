#!/usr/bin/env bash
# Overload (docs/RELIABILITY.md), release builds, one ragd on loopback,
# embedded defaults. The cost of auth and limits is tests/bench/authcost.sh.
#
#   bash tests/bench/overload.sh [DOCS=200] [PARAS=10]
#
# 1. Sustainable rate: uncached dense questions from 16 closed-model users
#    (loadgen quick --users 16 --unique), 20 s; R = answered per second
#    (16 users saturate the CPU without filling its queue past the
#    shedding bound, so none is refused).
# 2. Overload: an open model at 5 x R for 30 s (loadgen quick --rate), every
#    request in a CSV. Reports the P95 of the questions ragd answered, the
#    p99 of the ones it refused (429/503), and ragd's peak RSS, sampled
#    every 0.5 s, against its RSS before.
# All traffic stays on loopback; every step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-200}
PARAS=${2:-10}
PORT=18090
B=http://127.0.0.1:$PORT
cargo build --release -q -p ragd -p loadgen
RAGD=target/release/ragd
LG=target/release/loadgen
WORK=$(mktemp -d)
PID=
stop_ragd() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; PID=; }
trap 'stop_ragd; rm -rf "$WORK"' EXIT

# start_ragd [VAR=VALUE...]: ragd on $PORT over $WORK/data, dense retrieval.
start_ragd() {
  env RUST_LOG=warn RAGD_RETRIEVAL__MODE=dense "$@" \
    $RAGD serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" 2>>"$WORK/ragd.log" &
  PID=$!
  bench_wait_up $B 60 || { tail "$WORK/ragd.log"; exit 1; }
}
rss_kib() { awk '/VmRSS/{print $2}' /proc/$PID/status; }

bench_machine
python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50
start_ragd
bench_load $B "$WORK/corpus"
Q=$B/v1/collections/bench/query

echo "== 1. sustainable rate: 16 users, uncached dense questions, 20 s"
$LG quick $Q --users 16 --unique --duration 20s --quiet --json >"$WORK/sustain.json" || true
R=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print(round(t["ok"]/20))' "$WORK/sustain.json")
python3 - "$WORK/sustain.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
print(f"answered {t['ok']} in 20 s = {t['ok']/20:.0f}/s, p95 {t['latency_ms']['p95']:.1f} ms, errors {t['errors']}")
PY

RATE=$((R * 5))
echo "== 2. overload: open model at 5 x $R = $RATE arrivals/s, 30 s"
RSS_BEFORE=$(rss_kib)
( peak=0; while kill -0 $PID 2>/dev/null; do r=$(rss_kib 2>/dev/null || echo 0); [ "${r:-0}" -gt $peak ] && peak=$r; echo $peak >"$WORK/rss_peak"; sleep 0.5; done ) &
SAMPLER=$!
$LG quick $Q --rate "$RATE" --unique --duration 30s --max-in-flight 20000 --timeout 10s \
  --requests-csv "$WORK/over.csv" --quiet --json >"$WORK/over.json" || true
sleep 1; kill $SAMPLER 2>/dev/null || true
kill -0 $PID || { echo "ragd died under overload"; tail "$WORK/ragd.log"; exit 1; }
python3 - "$WORK/over.csv" "$RSS_BEFORE" "$(cat "$WORK/rss_peak")" <<'PY'
import csv, sys, collections
ok, refused, other = [], [], collections.Counter()
for row in csv.DictReader(open(sys.argv[1])):
    lat = float(row["latency_ms"])
    if row["ok"] == "true":
        ok.append(lat)
    elif row["error"].startswith(("http_429", "http_503")):
        refused.append(lat)
    else:
        other[row["error"]] += 1
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")
n = len(ok) + len(refused) + sum(other.values())
print(f"sent {n}: answered {len(ok)} ({len(ok)/30:.0f}/s), refused {len(refused)}, other errors {dict(other)}")
print(f"answered: p50 {pct(ok,50):.1f} ms, p95 {pct(ok,95):.1f} ms, p99 {pct(ok,99):.1f} ms (SLO: p95 < 300 ms)")
print(f"refused:  p50 {pct(refused,50):.2f} ms, p99 {pct(refused,99):.2f} ms (target: p99 < 10 ms)")
print(f"ragd RSS: {int(sys.argv[2])/1024:.0f} MiB before, {int(sys.argv[3])/1024:.0f} MiB peak")
PY
