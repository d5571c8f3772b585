#!/usr/bin/env bash
# Question latency while writers flood ragd (docs/RELIABILITY.md).
#
#   bash tests/bench/isolation.sh [RUNS=3]
#
# Runs tests/tests/isolation.rs (ignored in the suite: it is a measurement)
# RUNS times, alone. Each run: 60 dense questions on a quiet in-process ragd,
# then 60 while 8 writers ingest 40-paragraph documents; it prints both P95s
# and fails when the flooded P95 is over 2x the quiet one (floor 10 ms).
# Run it on a quiet machine: other load on the CPU shows up as flood cost.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
RUNS=${1:-3}
bench_machine
cargo test -q --workspace --test isolation --no-run
status=0
for i in $(seq "$RUNS"); do
  cargo test -q --workspace --test isolation -- --ignored --nocapture 2>&1 \
    | grep -E "query p95|panicked|assert" || status=1
done
exit $status
