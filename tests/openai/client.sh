#!/usr/bin/env bash
# ragd's OpenAI-compatible routes, driven by OpenAI's own Python client
# (the `openai` package from PyPI), against a real ragd.
#
#   bash tests/openai/client.sh
#
# Starts target/debug/ragd (build it first: cargo build --workspace) on a
# free loopback port with a fresh data directory, ingests a few documents
# into `kb`, then runs tests/openai/client.py: models.list(), a completion,
# a streamed completion, a follow-up turn, and the client's own errors for
# an unknown model. Fails if any check fails or ragd logged a panic.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${RAGKIT_OPENAI_VENV:-$HOME/.cache/ragkit-openai-venv}
BIN=${CARGO_TARGET_DIR:-target}/debug/ragd

[ -x "$BIN" ] || { echo "openai: $BIN is missing: run cargo build --workspace first" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import openai' 2>/dev/null; then
  echo "==> installing the openai client into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'openai>=1.40,<3'
fi

source tests/scratch-ragd.sh
scratch_ragd "$BIN"
curl -sf $B/v1/collections -H 'content-type: application/json' -d '{"name":"kb"}' >/dev/null
curl -sf $B/v1/collections/kb/documents -H 'content-type: application/json' -d '{"documents":[
  {"id":"volcano","text":"Mount Etna in Sicily is an active volcano. It erupts every few years."},
  {"id":"bread","text":"Sourdough dough rises for four to six hours before baking."},
  {"id":"tennis","text":"A tennis set is won by the first player to win six games, by two."}]}' >/dev/null

echo "==> OpenAI's Python client against $B/v1"
"$VENV/bin/python" tests/openai/client.py "$B/v1"
if grep -q "panicked" "$WORK/ragd.log"; then
  echo "openai: ragd logged a panic:" >&2; grep -A5 panicked "$WORK/ragd.log" >&2; exit 1
fi
