#!/usr/bin/env bash
# `ragd demo` as a newcomer meets it, for one or more builds of ragd:
#
#   bash tests/bench/demo.sh BIN [BIN...]      # e.g. target/debug/ragd
#
# Run it from the checkout whose docs/ the demo should ingest. For each
# binary, one after another on a fresh data directory: start
# `BIN demo` (docs/ into the `docs` collection), time it
# until the curl line it prints has been answered, then send 30 searches
# per retrieval mode and take the median. Prints one JSON line per binary.
# Loopback only; each demo is stopped when its searches are done.
set -euo pipefail
[ -d docs ] || { echo "demo: run it from a checkout (no docs/ here)" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: bash tests/bench/demo.sh BIN [BIN...]" >&2; exit 2; }
PORT=${RAGKIT_PORT:-18097}
pid=
work=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  [ -n "$work" ] && rm -rf "$work"
  pid= work=
}
trap cleanup EXIT
for bin in "$@"; do
  [ -x "$bin" ] || { echo "demo: $bin is not an executable" >&2; exit 2; }
  work=$(mktemp -d)
  start=$(date +%s.%N)
  "$bin" --listen "127.0.0.1:$PORT" --data-dir "$work/data" demo >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 3000); do
    grep -q "^curl " "$work/out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; echo "demo: $bin exited" >&2; exit 1; }
    sleep 0.1
  done
  line=$(grep -m1 "^curl " "$work/out") || { echo "demo: no curl line within 300 s" >&2; exit 1; }
  answer=$(eval "$line")
  end=$(date +%s.%N)
  python3 - "$bin" "$PORT" "$start" "$end" "$answer" <<'PY'
import json, sys, time, urllib.request
bin_, port, start, end, answer = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
r = json.loads(answer)
if not (r.get("answer") and r.get("citations")):
    sys.exit(f"demo: the demo's question got no answer: {answer}")
def search(body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/collections/docs/search",
                                 data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    json.load(urllib.request.urlopen(req))
p50 = {}
for mode in ["sparse", "dense", "hybrid"]:
    ts = []
    for i in range(30):  # distinct questions: no cache helps
        t = time.perf_counter()
        search({"question": f"how is data kept safe {i} {mode}", "mode": mode, "top_k": 5})
        ts.append((time.perf_counter() - t) * 1000)
    p50[mode] = round(sorted(ts)[len(ts) // 2], 2)
print(json.dumps({"bin": bin_, "demo_to_first_answer_s": round(end - start, 1), "search_p50_ms": p50}))
PY
  cleanup
done
