#!/usr/bin/env bash
# OpenAPI-driven fuzzing of a real ragd (schemathesis, from PyPI).
#
#   bash tests/fuzz/api.sh [EXAMPLES=25] [SECONDS=240]
#
# Starts target/debug/ragd (build it first: cargo build -p ragd) on a free
# loopback port with a fresh data directory and a collection `kb` holding a
# few documents, then lets schemathesis generate requests for every
# operation of /openapi.json, valid and invalid, EXAMPLES per operation and
# at most SECONDS in all. Fails on any 5xx (not_a_server_error), on any 4xx
# outside ragd's error envelope (tests/fuzz/hooks.py), and if ragd died.
# The full run (more examples, stateful phase) is the same command with
# larger numbers; tests/run.sh runs the bounded one.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXAMPLES=${1:-25}
SECONDS_MAX=${2:-240}
VENV=${RAGKIT_VENV:-$HOME/.cache/ragkit-fuzz-venv}
BIN=${CARGO_TARGET_DIR:-target}/debug/ragd

[ -x "$BIN" ] || { echo "fuzz: $BIN is missing: run cargo build -p ragd first" >&2; exit 2; }
if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "==> installing schemathesis into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis>=4,<5'
fi

source tests/scratch-ragd.sh
scratch_ragd "$BIN"
curl -sf $B/v1/collections -H 'content-type: application/json' -d '{"name":"kb"}' >/dev/null
curl -sf $B/v1/collections/kb/documents -H 'content-type: application/json' \
  -d '{"documents":[{"id":"volcano","text":"Mount Etna in Sicily is an active volcano."},{"id":"bread","text":"Sourdough rises for hours before baking."}]}' >/dev/null

echo "==> schemathesis: $EXAMPLES examples per operation, at most ${SECONDS_MAX}s, against $B"
status=0
# From the scratch directory, so schemathesis's cache stays out of the repo.
(cd "$WORK" && PYTHONPATH="$OLDPWD/tests/fuzz" SCHEMATHESIS_HOOKS=hooks timeout $((SECONDS_MAX + 60)) \
  "$VENV/bin/schemathesis" run "$B/openapi.json" \
    --checks not_a_server_error,error_envelope \
    --max-examples "$EXAMPLES" --max-time "$SECONDS_MAX" \
    --phases examples,coverage,fuzzing \
    --workers 2 --seed 1 --no-shrink \
    --generation-allow-x00 true \
    --request-timeout 20 \
    --suppress-health-check all) || status=$?
if ! kill -0 $PID 2>/dev/null; then
  echo "fuzz: ragd died during the run; its log:" >&2; tail -50 "$WORK/ragd.log" >&2; exit 1
fi
if grep -q "panicked" "$WORK/ragd.log"; then
  echo "fuzz: ragd logged a panic:" >&2; grep -A5 panicked "$WORK/ragd.log" >&2; exit 1
fi
exit $status
