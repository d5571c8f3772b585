#!/usr/bin/env bash
# Ingest throughput against the embedder's own chunk rate (docs/BENCHMARKS.md,
# issue "Closer to the limits").
#
#   bash tests/bench/ingest.sh [DOCS=300] [PARAS=10] [ROUNDS=3]
#
# Builds ragd (release) and writes DOCS x PARAS paragraphs of ~400
# characters (tests/bench/gen_corpus.py: one paragraph = one chunk) as
# ingest requests of 50 documents. Then ROUNDS times, one after the other
# on this machine:
#   1. the limit: `ragd bench-embed --threads 2 --batch 32 --texts FILE`
#      embeds those very paragraphs, 32 per model call as an ingest does,
#      on both cores, for 15 s: the chunk rate of the embedder alone;
#   2. the ingest: a fresh ragd on a fresh data directory, the requests
#      sent one after another, as a bulk loader does; chunks/s from the
#      first request to the last answer, and the sum of the answers'
#      chunk/embed/store timings (where a request's time goes).
# Prints each round's ratio (ingest / limit) and their median; --json-style
# lines (`result {...}`) are for scripts. Loopback only, bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-300}
PARAS=${2:-10}
ROUNDS=${3:-3}
PORT=18081
B=http://127.0.0.1:$PORT
# RAGKIT_RAGD_BIN=PATH measures another build (see bench_ragd_bin in lib.sh).
BIN=$(bench_ragd_bin)
WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
bench_machine
python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50 >/dev/null
# The paragraphs themselves, one per line: what bench-embed embeds.
python3 - "$WORK/corpus" > "$WORK/paragraphs.txt" <<'EOF'
import json, os, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    for doc in json.load(open(os.path.join(d, f)))["documents"]:
        for p in doc["text"].split("\n\n"):
            print(p.replace("\n", " "))
EOF
echo "corpus: $(wc -l < "$WORK/paragraphs.txt") paragraphs, $(ls "$WORK/corpus" | wc -l) requests"

for round in $(seq "$ROUNDS"); do
  echo "== round $round: the embedder alone on the corpus's paragraphs (2 threads, 32 per call, 15 s)"
  limit=$($BIN bench-embed --threads 2 --batch 32 --seconds 15 --texts "$WORK/paragraphs.txt" \
    | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["per_second"], 1))')
  echo "limit: $limit chunks/s"

  echo "== round $round: ingest, requests one after another"
  rm -rf "$WORK/data"
  RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" > "$WORK/ragd.log" 2>&1 &
  PID=$!
  bench_wait_up $B 10
  curl -sf $B/v1/collections -H 'content-type: application/json' -d '{"name":"bench"}' >/dev/null
  python3 - "$WORK/corpus" "$B" "$limit" "$round" <<'EOF' | tee -a "$WORK/results"
import json, os, sys, time, urllib.request
corpus, base, limit, rnd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
files = sorted(os.listdir(corpus))
sums = {"chunk_ms": 0.0, "embed_ms": 0.0, "store_ms": 0.0, "total_ms": 0.0}
chunks = 0
start = time.monotonic()
for f in files:
    body = open(os.path.join(corpus, f), "rb").read()
    req = urllib.request.Request(f"{base}/v1/collections/bench/documents", data=body,
                                 headers={"content-type": "application/json"})
    r = json.load(urllib.request.urlopen(req, timeout=600))
    chunks += r["chunks"]
    for k in sums:
        sums[k] += r["timings"][k]
secs = time.monotonic() - start
rate = chunks / secs
share = {k: round(100 * v / 1000 / secs, 1) for k, v in sums.items()}
print(f"ingest: {chunks} chunks in {secs:.1f} s = {rate:.1f} chunks/s = {rate / limit:.2f} of the limit")
print(f"where the time goes (% of wall time, summed over requests): chunk {share['chunk_ms']}, "
      f"embed {share['embed_ms']}, store {share['store_ms']}, in ragd {share['total_ms']}")
print("result " + json.dumps({"round": int(rnd), "chunks": chunks, "seconds": round(secs, 2),
                              "chunks_per_s": round(rate, 1), "limit_per_s": limit,
                              "ratio": round(rate / limit, 3), "share_pct": share}))
EOF
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
done
python3 - "$WORK/results" <<'EOF'
import json, statistics, sys
r = [json.loads(l[len("result "):]) for l in open(sys.argv[1]) if l.startswith("result ")]
med = lambda k: statistics.median(x[k] for x in r)
print(f"median over {len(r)} rounds: ingest {med('chunks_per_s'):.1f} chunks/s, "
      f"limit {med('limit_per_s'):.1f} chunks/s, ratio {med('ratio'):.2f}")
EOF
