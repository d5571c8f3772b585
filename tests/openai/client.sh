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

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT
RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" 2>"$WORK/ragd.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 300); do curl -sf $B/health >/dev/null && break; sleep 0.1; done
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
