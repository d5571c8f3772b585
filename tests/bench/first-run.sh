#!/usr/bin/env bash
# A newcomer's time to first answer: a cold `cargo run -p ragd -- demo` from
# a fresh clone (no target directory), then the curl line the demo prints.
#
#   bash tests/bench/first-run.sh [REV]      # default: HEAD
#
# Crates are fetched first and not counted (download speed is the
# network's, not ours). Prints the build's wall and CPU time, the demo's
# time from start to its first answer (tests/bench/demo.sh), their sum,
# the demo's median search times, and where cargo's --timings report is.
# Takes 15-25 minutes on 2 cores; run nothing else
# meanwhile. The clone and its target directory are left in /tmp/first-run.*
# for the report; remove them afterwards.
set -euo pipefail
REV=${1:-HEAD}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
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

# The demo (tests/bench/demo.sh): ingest docs/, serve, answer the curl line
# it prints, then the median search time per mode.
# (This checkout's script, so that an older REV is measured the same way.)
demo=$(bash "$ROOT/tests/bench/demo.sh" "$CARGO_TARGET_DIR/debug/ragd")
units=$(grep -o '<td>Total units:</td><td>[0-9]*' "$CARGO_TARGET_DIR"/cargo-timings/cargo-timing.html | grep -o '[0-9]*$' || echo None)
python3 - "$demo" <<PY
import json, sys
d = json.loads(sys.argv[1])
print(json.dumps({"rev": "$(git rev-parse --short HEAD)", "build_wall_s": $build_wall,
                  "build_user_s": $build_user, "build_sys_s": $build_sys, "units": ${units:-None},
                  "demo_to_first_answer_s": d["demo_to_first_answer_s"],
                  "time_to_first_answer_s": round($build_wall + d["demo_to_first_answer_s"], 1),
                  "search_p50_ms": d["search_p50_ms"],
                  "timings": "$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html"}))
PY
