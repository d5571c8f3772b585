#!/usr/bin/env bash
# ragd's own CPU per uncached dense query: everything but the embedding
# (docs/BENCHMARKS.md, issue "Closer to the limits").
#
#   bash tests/bench/query-overhead.sh [DOCS=300] [PARAS=10] [SECONDS=20]
#
# Builds ragd (release) and runs it twice on a fresh data directory with
# DOCS x PARAS one-chunk paragraphs (tests/bench/gen_corpus.py):
#   remote:  [embedders.default] kind = "openai", pointed at
#            tests/bench/embed_stub.py on loopback (a stand-in model server
#            in its own process), so ragd's CPU is ragd's own work;
#   bundled: the built-in MiniLM, as shipped.
# Each time, after the vector index is built and a 5 s warm-up, wrk sends
# unique dense questions (tests/bench/query.lua, 16 connections, SECONDS)
# and the script reads ragd's CPU time from /proc before and after:
# µs of ragd CPU per query. Before both, `ragd bench-embed --threads 2`
# gives the embedder alone's rate, which the bundled run's uncached
# throughput is compared with. Loopback only, bounded in time.
#
# RAGKIT_PERF=FILE also profiles the remote run, after its measurement (so
# that the figures above are not slowed by it): `perf record -F 999
# --call-graph dwarf` of ragd for 8 s under the same load, into FILE;
# `python3 tests/bench/perf_shares.py FILE NAME...` gives the inclusive
# share of each function NAME.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-300}
PARAS=${2:-10}
SECS=${3:-20}
PORT=18082
STUB_PORT=18092
B=http://127.0.0.1:$PORT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
# RAGKIT_RAGD_BIN=PATH measures another build (e.g. a copy of an earlier one, for
# a before/after comparison in one session) instead of building this one.
if [ -z "${RAGKIT_RAGD_BIN:-}" ]; then cargo build --release -q -p ragd; fi
BIN=${RAGKIT_RAGD_BIN:-${CARGO_TARGET_DIR:-target}/release/ragd}
WORK=$(mktemp -d)
PID= STUB=
cleanup() {
  for p in $PID $STUB; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bench_machine
python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50 >/dev/null
python3 tests/bench/embed_stub.py $STUB_PORT 384 &
STUB=$!

run() { # NAME, then env assignments for ragd
  local name=$1; shift
  rm -rf "$WORK/data"
  # Nothing shed: the figure is the CPU of answered questions.
  env RAGD_SERVER__MAX_QUEUE_WAIT_MS=0 "$@" RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" > "$WORK/ragd-$name.log" 2>&1 &
  PID=$!
  bench_wait_up $B 10
  bench_load $B "$WORK/corpus"
  bench_wait_indexed $B
  QUERY_MODE=unique wrk -t1 -c16 -d5s -s tests/bench/query.lua $B > /dev/null
  local before after
  before=$(cpu_ticks $PID)
  QUERY_MODE=unique wrk -t1 -c16 -d${SECS}s --latency -s tests/bench/query.lua $B > "$WORK/wrk-$name.txt"
  after=$(cpu_ticks $PID)
  python3 - "$name" "$WORK/wrk-$name.txt" "$before" "$after" "$TICK" <<'PY'
import json, re, sys
name, path, before, after, tick = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = open(path).read()
n = int(re.search(r"(\d+) requests in", out).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
cpu_us = (after - before) / tick * 1e6 / max(n, 1)
p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
print(f"{name}: {n} queries, {rps:.0f} req/s, p99 {p99}, ragd CPU {cpu_us:.0f} µs per query"
      + (f", {bad.group(1)} non-2xx" if bad else ""))
print("result " + json.dumps({"embedder": name, "queries": n, "req_per_s": rps,
                              "ragd_cpu_us_per_query": round(cpu_us, 1),
                              "non_2xx": int(bad.group(1)) if bad else 0}))
PY
  if [ -n "${RAGKIT_PERF:-}" ] && [ "$name" = remote ]; then
    QUERY_MODE=unique wrk -t1 -c16 -d12s -s tests/bench/query.lua $B > /dev/null &
    local load=$!
    sleep 2
    perf record -F 999 -g --call-graph dwarf,16384 -p $PID -o "$RAGKIT_PERF" -- sleep 8 2>/dev/null
    wait $load
    echo "profile of the remote run: $RAGKIT_PERF (python3 tests/bench/perf_shares.py $RAGKIT_PERF NAME...)"
  fi
  kill $PID; wait $PID 2>/dev/null || true; PID=
}

echo "== the embedder alone: one question per call, 2 threads, 15 s"
limit=$($BIN bench-embed --threads 2 --seconds 15 | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["per_second"], 1))')
echo "embedder alone: $limit embeds/s"
echo "result {\"embedder_alone_per_s\": $limit}"
echo "== remote embedder (embed_stub.py on 127.0.0.1:$STUB_PORT): ragd's own work"
run remote RAGD_EMBEDDERS__DEFAULT__KIND=openai RAGD_EMBEDDERS__DEFAULT__URL=http://127.0.0.1:$STUB_PORT \
  RAGD_EMBEDDERS__DEFAULT__MODEL=stub RAGD_EMBEDDERS__DEFAULT__DIMENSIONS=384
echo "== bundled embedder (MiniLM in-process)"
run bundled RAGD_EMBEDDERS__DEFAULT__KIND=pocket
