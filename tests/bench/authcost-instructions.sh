#!/usr/bin/env bash
# The cost of auth and limits in instructions (docs/RELIABILITY.md): the
# companion of authcost.sh that the machine's drift cannot move.
#
#   bash tests/bench/authcost-instructions.sh [REQUESTS=4000]
#
# Runs a release ragd under `valgrind --tool=callgrind` once per mode, sends
# it REQUESTS cached questions over 4 keep-alive connections (after 200 not
# counted), and prints the user-space instructions per request of:
#   off    no keys, no rate limit
#   auth   [auth] enabled, the request carries a query key
#   limit  a query rate limit too large to refuse anything, no key
#   on     both (what authcost.sh calls "on")
# Callgrind counts instructions, not time; valgrind's CPU has no SHA
# extensions, so SHA-256 runs the portable code here (~7,000 instructions
# per key check) where the machine runs SHA-NI (~0.1 µs, perf). The
# script prints that share on its own line. Kernel work (sockets, waking
# the client) is not counted. Takes about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-4000}
PORT=18093
B=http://127.0.0.1:$PORT
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
. tests/bench/lib.sh
# RAGKIT_RAGD_BIN=PATH measures another build (see bench_ragd_bin in lib.sh).
RAGD=$(bench_ragd_bin)
WORK=$(mktemp -d)
# RAGKIT_CALLGRIND_DIR=DIR keeps the counts (DIR/cg.MODE.1) for
# `callgrind_annotate --inclusive=yes`, where the per-function figures of
# docs/RELIABILITY.md come from.
KEEP=${RAGKIT_CALLGRIND_DIR:-$WORK}
mkdir -p "$KEEP"
PID=
stop_ragd() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; PID=; }
trap 'stop_ragd; rm -rf "$WORK"' EXIT

cat > "$WORK/client.py" <<'PY'
import http.client, sys, threading
port, n, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = '{"question":"What happened to the river dam during the migration?","top_k":5,"mode":"dense"}'
headers = {"Content-Type": "application/json"}
if key:
    headers["Authorization"] = "Bearer " + key
bad = []
def work(k):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for _ in range(k):
        c.request("POST", "/v1/collections/bench/query", body, headers)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            bad.append(r.status)
threads = [threading.Thread(target=work, args=(n // 4,)) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
if bad:
    sys.exit(f"authcost-instructions: {len(bad)} answers were not 200, e.g. {bad[0]}")
PY

bench_machine
RUST_LOG=warn $RAGD serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" 2>>"$WORK/ragd.log" &
PID=$!
bench_wait_up $B 60 || { tail "$WORK/ragd.log"; exit 1; }
bench_two_documents $B
stop_ragd
KEY=$($RAGD keys create --name bench --scope query --data-dir "$WORK/data" 2>/dev/null | tail -1)
AUTH=(RAGD_AUTH__ENABLED=true)
LIMIT=(RAGD_RATE_LIMIT__QUERIES_PER_MINUTE=1000000000 RAGD_RATE_LIMIT__QUERY_BURST=1000000)

# count MODE KEY ENV...: prints instructions per request; writes the key
# check's SHA-256 instructions per request to $WORK/sha.MODE
count() {
  local mode=$1 key=$2; shift 2
  local out="$KEEP/cg.$mode"
  local all; all=$(bench_callgrind "$out" "$RAGD" "$WORK/data" $PORT \
    "python3 $WORK/client.py $PORT 200 '$key'" "python3 $WORK/client.py $PORT $N '$key'" \
    RAGD_RETRIEVAL__MODE=dense "$@")
  callgrind_annotate --inclusive=yes "$out.1" 2>/dev/null |
    awk -v n="$N" '/auth::secret::matches_hash/{gsub(",","",$1); print int($1 / n); exit}' > "$WORK/sha.$mode"
  echo $(( all / N ))
}

echo "== cached questions, $N requests per mode under callgrind: user-space instructions per request"
off=$(count off "")
auth=$(count auth "$KEY" "${AUTH[@]}")
limit=$(count limit "" "${LIMIT[@]}")
on=$(count on "$KEY" "${AUTH[@]}" "${LIMIT[@]}")
on_sha=$(cat "$WORK/sha.on"); on_sha=${on_sha:-0}
python3 - "$off" "$auth" "$limit" "$on" "$on_sha" "$N" <<'PY'
import json, sys
off, auth, limit, on, on_sha, n = map(int, sys.argv[1:7])
for name, v in [("off", off), ("auth", auth), ("limit", limit), ("on", on)]:
    print(f"{name:6} {v:9,} instructions/request  ({v / off:.3f} of off)")
print(f"of which SHA-256 of the key in valgrind's portable code: {on_sha:,.0f} (SHA-NI on the machine)")
print(f"on without that share: {(on - on_sha) / off:.3f} of off")
print("result " + json.dumps({"off": off, "auth": auth, "limit": limit, "on": on,
      "sha_in_on": round(on_sha), "on_over_off": round(on / off, 4),
      "on_over_off_without_sha": round((on - on_sha) / off, 4), "requests": n}))
PY
