# Sourced by test and benchmark scripts: `scratch_ragd BIN` starts BIN
# (a ragd binary) on a free loopback port with a fresh data directory and
# waits for /health. Sets WORK (a scratch directory, removed at exit), B
# (the base URL) and PID; the EXIT trap stops ragd. Its log is
# $WORK/ragd.log.
scratch_ragd() {
  WORK=$(mktemp -d)
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  B=http://127.0.0.1:$port
  RUST_LOG=warn "$1" serve --listen "127.0.0.1:$port" --data-dir "$WORK/data" 2>"$WORK/ragd.log" &
  PID=$!
  trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
  for _ in $(seq 300); do curl -sf "$B/health" >/dev/null && return 0; sleep 0.1; done
  echo "ragd did not answer /health within 30 s; its log:" >&2
  tail -20 "$WORK/ragd.log" >&2
  return 1
}
