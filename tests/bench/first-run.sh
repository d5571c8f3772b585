#!/usr/bin/env bash
# A newcomer's time to first answer: a cold `cargo run -p ragd -- demo` from
# a fresh clone (no target directory), then the curl line the demo prints.
#
#   bash tests/bench/first-run.sh [REV]      # default: HEAD
#
# Crates are fetched first and not counted (download speed is the
# network's, not ours). Prints the build's wall and CPU time, the demo's
# time from start to its first answer, their sum, and where cargo's
# --timings report is. Takes 15-25 minutes on 2 cores; run nothing else
# meanwhile. The clone and its target directory are left in /tmp/first-run.*
# for the report; remove them afterwards.
set -euo pipefail
REV=${1:-HEAD}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${RAGKIT_PORT:-18097}
WORK=$(mktemp -d /tmp/first-run.XXXXXX)
git clone -q "$ROOT" "$WORK/src"
git -C "$WORK/src" checkout -q "$(git -C "$ROOT" rev-parse "$REV")"
cd "$WORK/src"
echo "first-run: $(git rev-parse --short HEAD) in $WORK ($(nproc) cores)" >&2
cargo fetch -q
export CARGO_TARGET_DIR="$WORK/target"
TIMEFORMAT='%R %U %S'
build=$( { time cargo build -q -p ragd --timings >"$WORK/build.log" 2>&1; } 2>&1 )
read -r build_wall build_user build_sys <<<"$build"
echo "first-run: built in ${build_wall}s (CPU ${build_user}s user, ${build_sys}s sys)" >&2

# The demo: ingest docs/ on embedded defaults, serve, print the curl line.
start=$(date +%s.%N)
"$CARGO_TARGET_DIR/debug/ragd" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" demo \
  >"$WORK/demo.out" 2>"$WORK/demo.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  grep -q "^curl " "$WORK/demo.out" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$WORK/demo.err" >&2; echo "first-run: the demo exited" >&2; exit 1; }
  sleep 0.1
done
line=$(grep -m1 "^curl " "$WORK/demo.out") || { echo "first-run: no curl line within 60 s" >&2; exit 1; }
answer=$(eval "$line")
end=$(date +%s.%N)
echo "$answer" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["answer"] and r["citations"], r' \
  || { echo "first-run: the demo's question got no answer: $answer" >&2; exit 1; }
demo=$(python3 -c "print(round($end - $start, 1))")
total=$(python3 -c "print(round($build_wall + $demo, 1))")
units=$(grep -o '<td>Total units:</td><td>[0-9]*' "$CARGO_TARGET_DIR"/cargo-timings/cargo-timing.html | grep -o '[0-9]*$' || echo "?")
cat <<OUT
{"rev": "$(git rev-parse --short HEAD)", "build_wall_s": $build_wall, "build_user_s": $build_user, "build_sys_s": $build_sys, "units": ${units:-null}, "demo_to_first_answer_s": $demo, "time_to_first_answer_s": $total, "timings": "$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html"}
OUT
