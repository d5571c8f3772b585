#!/usr/bin/env bash
# ragd query and ingest benchmark on embedded defaults (docs/BENCHMARKS.md).
#
#   bash tests/bench/run.sh [DOCS=1000] [PARAS=10]
#
# Builds ragd (release), starts it on 127.0.0.1:18080 with a fresh data dir,
# ingests DOCS x PARAS one-chunk paragraphs, waits for the vector index, then
# measures, in this order and on this machine:
#   1. the embedder alone (ragd bench-embed) on questions of the form wrk
#      sends (tests/bench/questions.py), the ceiling for uncached queries;
#   2. uncached queries (every question distinct) with wrk;
#   3. cached queries (one question repeated) with wrk.
# All traffic stays on loopback; every step is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-1000}
PARAS=${2:-10}
PORT=18080
B=http://127.0.0.1:$PORT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p ragd
BIN=target/release/ragd
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

bench_machine

python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50
RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" &
PID=$!
bench_wait_up $B 10
curl -sf $B/v1/collections -H 'content-type: application/json' -d '{"name":"bench"}' >/dev/null

echo "== ingest: $DOCS documents x $PARAS paragraphs"
start=$(date +%s.%N)
for f in "$WORK"/corpus/*.json; do
  curl -sf $B/v1/collections/bench/documents -H 'content-type: application/json' --data-binary @"$f" >/dev/null
done
end=$(date +%s.%N)
chunks=$(curl -sf $B/v1/collections/bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
python3 -c "print(f'ingest: {$chunks} chunks in {$end-$start:.1f} s = {$chunks/($end-$start):.0f} chunks/s')"

echo "== waiting for the vector index"
bench_wait_indexed $B

echo "== embedder alone, one question per call, on questions of the form wrk sends (15 s each)"
python3 tests/bench/questions.py "$WORK/questions.txt"
for t in 2 4; do $BIN bench-embed --threads $t --seconds 15 --texts "$WORK/questions.txt" | tr -d '\n '; echo; done

echo "== uncached queries (wrk, 1 thread, 16 connections, 20 s)"
QUERY_MODE=unique wrk -t1 -c16 -d20s --latency -s tests/bench/query.lua $B

echo "== cached queries (wrk, 1 thread, 32 connections, 15 s)"
curl -sf $B/v1/collections/bench/query -H 'content-type: application/json' \
  -d '{"question":"What happened to the river dam during the migration?","top_k":5,"mode":"dense"}' >/dev/null
QUERY_MODE=same wrk -t1 -c32 -d15s --latency -s tests/bench/query.lua $B
curl -sf $B/status | python3 -c 'import json,sys; s=json.load(sys.stdin); print("cache:", s["caches"][0]); print("requests:", s["requests"])'
