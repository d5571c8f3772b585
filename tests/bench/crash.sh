#!/usr/bin/env bash
# Crash safety in full (docs/RELIABILITY.md): SIGKILL ragd under concurrent
# writes, restart it, check every acknowledged write.
#
#   bash tests/bench/crash.sh [KILLS_EMBEDDED=50] [KILLS_SHARED=10]
#
# Runs tests/tests/crash.rs (4 kills in the suite) with more kills: first on
# embedded defaults, then on PostgreSQL + Redis (started by
# tests/services.sh). Each kill lands 0.3-2.3 s into a stream of ingests,
# replacements and deletes by 4 concurrent writers; ragd is restarted on the
# same data and every document is read back, queried and counted against
# the vector store. Any loss fails the run. The suite's debug build (the
# same feature set as tests/run.sh, so nothing is rebuilt after it).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
EMBEDDED=${1:-50}
SHARED=${2:-10}
bench_machine
cargo build -q --workspace --tests
rm -f "${TMPDIR:-/tmp}/ragkit-crash-report.txt"

echo "== embedded defaults: $EMBEDDED kills"
RAGKIT_CRASH_KILLS=$EMBEDDED cargo test -q --workspace --test crash -- --nocapture 2>&1 \
  | grep -E "^crash test|^kill |panicked|lost|disagree|test result"

echo "== PostgreSQL + Redis: $SHARED kills"
eval "$(bash tests/services.sh start)"
export RAGKIT_REQUIRE_SERVICES=1
RAGKIT_TEST_BACKENDS=postgres+redis RAGKIT_CRASH_KILLS=$SHARED \
  cargo test -q --workspace --test crash -- --nocapture 2>&1 \
  | grep -E "^crash test|^kill |panicked|lost|disagree|test result"

echo "== summary"
cat "${TMPDIR:-/tmp}/ragkit-crash-report.txt"
