#!/usr/bin/env bash
# Do two builds of ragd write the same answers? For changes meant to make
# the answer cheaper without changing it (docs/BENCHMARKS.md).
#
#   bash tests/bench/same-answers.sh BASE_BIN NEW_BIN
#
# Run it from a checkout. BASE_BIN (`ragd demo`) ingests docs/ once into a
# fresh data directory; then each build in turn serves a copy of that
# directory, cache off, and is asked every question of docs/eval/*.jsonl in
# the sparse, dense and hybrid modes (top_k 5). One ingest for both: point
# ids are new on every ingest and order passages of equal score, so two
# ingests need not retrieve alike. Prints how many answers differ and the
# first differences; exits 1 when any does. Loopback only; about 2 minutes.
set -euo pipefail
[ -d docs/eval ] || { echo "same-answers: run it from a checkout (no docs/eval here)" >&2; exit 2; }
[ $# -eq 2 ] || { echo "usage: bash tests/bench/same-answers.sh BASE_BIN NEW_BIN" >&2; exit 2; }
for bin in "$@"; do [ -x "$bin" ] || { echo "same-answers: $bin is not an executable" >&2; exit 2; }; done
. tests/bench/lib.sh
PORT=${RAGKIT_PORT:-18098}
B=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "ingesting docs/ with $1 ..."
RUST_LOG=warn "$1" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" demo >"$WORK/demo.out" 2>"$WORK/demo.err" &
PID=$!
for _ in $(seq 3000); do
  grep -q "^curl " "$WORK/demo.out" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/demo.err" >&2; exit 1; }
  sleep 0.1
done
bench_wait_indexed $B
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

ask() { # BIN OUT
  rm -rf "$WORK/copy"; cp -a "$WORK/data" "$WORK/copy"
  RAGD_CACHE__KIND=off RUST_LOG=warn "$1" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/copy" 2>"$WORK/serve.err" &
  PID=$!
  bench_wait_up $B 120
  python3 - "$PORT" "$2" docs/eval/*.jsonl <<'PY'
import json, sys, urllib.request
port, out, sets = sys.argv[1], sys.argv[2], sys.argv[3:]
answers = []
for path in sets:
    for line in open(path):
        if not line.strip() or line.startswith("#"):
            continue
        q = json.loads(line)["question"]
        for mode in ("sparse", "dense", "hybrid"):
            body = json.dumps({"question": q, "top_k": 5, "mode": mode}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/collections/docs/query", body,
                                         {"Content-Type": "application/json"})
            r = json.load(urllib.request.urlopen(req))
            answers.append({"mode": mode, "question": q, "answer": r["answer"]})
json.dump(answers, open(out, "w"))
PY
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}
echo "asking $1 ..."; ask "$1" "$WORK/base.json"
echo "asking $2 ..."; ask "$2" "$WORK/new.json"
python3 - "$WORK/base.json" "$WORK/new.json" <<'PY'
import json, sys
base, new = (json.load(open(p)) for p in sys.argv[1:3])
diff = [(a, b) for a, b in zip(base, new) if a["answer"] != b["answer"]]
print(f"{len(base)} answers (questions x modes), {len(diff)} differ")
for a, b in diff[:5]:
    print(f"- [{a['mode']}] {a['question']}\n  base: {a['answer'][:300]}\n  new:  {b['answer'][:300]}")
print("result " + json.dumps({"answers": len(base), "differ": len(diff)}))
sys.exit(1 if diff else 0)
PY
