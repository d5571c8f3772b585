#!/usr/bin/env bash
# ragd's own CPU per uncached dense query: everything but the embedding
# (docs/BENCHMARKS.md, issue "Closer to the limits").
#
#   bash tests/bench/query-overhead.sh [DOCS=300] [PARAS=10] [SECONDS=20]
#
# Builds ragd (release) and runs it twice on a fresh data directory with
# DOCS x PARAS one-chunk paragraphs (tests/bench/gen_corpus.py):
#   remote:  [embedders.default] kind = "openai", pointed at
#            tests/bench/embed_stub.py on loopback (a stand-in model server
#            in its own process), so ragd's CPU is ragd's own work;
#   bundled: the built-in MiniLM, as shipped.
# Each time, after the vector index is built and a 5 s warm-up, wrk sends
# unique dense questions (tests/bench/query.lua, 16 connections, SECONDS)
# and the script reads ragd's CPU time from /proc before and after:
# µs of ragd CPU per query. In the bundled run, wrk's SECONDS are cut
# into 5 s slices that alternate with slices of `ragd bench-embed
# --threads 2 --texts FILE`: the embedder alone's rate on questions of the
# form wrk sends (tests/bench/questions.py), which the bundled run's
# uncached throughput is compared with. Loopback only, bounded in time.
#
# RETRIEVAL=hybrid (read by query.lua) sends hybrid questions instead of
# dense ones: the same embedding, plus the BM25 search and the fusion.
#
# RAGKIT_PERF=FILE also profiles the remote run, after its measurement (so
# that the figures above are not slowed by it): `perf record -F 999
# --call-graph dwarf` of ragd for 8 s under the same load, into FILE;
# `python3 tests/bench/perf_shares.py FILE NAME...` gives the inclusive
# share of each function NAME.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-300}
PARAS=${2:-10}
SECS=${3:-20}
# Seconds per slice of the bundled run (see run below); RAGKIT_SLICE_SECS=
# SECONDS gives one slice: the embedder alone once before and once after.
SLICE_SECS=${RAGKIT_SLICE_SECS:-5}
PORT=18082
STUB_PORT=18092
B=http://127.0.0.1:$PORT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
# RAGKIT_RAGD_BIN=PATH measures another build (see bench_ragd_bin in lib.sh).
BIN=$(bench_ragd_bin)
WORK=$(mktemp -d)
PID= STUB=
cleanup() {
  for p in $PID $STUB; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bench_machine
python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50 >/dev/null
python3 tests/bench/embed_stub.py $STUB_PORT 384 &
STUB=$!

run() { # NAME, then env assignments for ragd
  local name=$1; shift
  rm -rf "$WORK/data"
  # Nothing shed: the figure is the CPU of answered questions.
  env RAGD_SERVER__MAX_QUEUE_WAIT_MS=0 "$@" RUST_LOG=warn $BIN serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" > "$WORK/ragd-$name.log" 2>&1 &
  PID=$!
  bench_wait_up $B 10
  bench_load $B "$WORK/corpus"
  bench_wait_indexed $B
  QUERY_MODE=unique wrk -t1 -c16 -d5s -s tests/bench/query.lua $B > /dev/null
  # For the bundled run, its limit is measured alongside: the embedder alone
  # on wrk's questions (ragd idle meanwhile), in slices of SLICE_SECS that
  # alternate with wrk's: alone, wrk, alone, ..., wrk, alone. The machine's
  # speed drifts by up to 10 % within a minute, for the embedder alone as
  # for ragd, so only measurements this close compare.
  local slices=1 secs=$SECS
  if [ "$name" = bundled ]; then
    slices=$(( SECS / SLICE_SECS > 0 ? SECS / SLICE_SECS : 1 )); secs=$(( SECS / slices ))
  fi
  rm -f "$WORK"/wrk-"$name"-*.txt; : > "$WORK/alone"
  local ticks=0 t0 i
  for i in $(seq $slices); do
    if [ "$name" = bundled ]; then embed_alone "$WORK/questions.txt" $secs >> "$WORK/alone"; fi
    t0=$(cpu_ticks $PID)
    QUERY_MODE=unique wrk -t1 -c16 -d${secs}s --latency -s tests/bench/query.lua $B > "$WORK/wrk-$name-$i.txt"
    ticks=$(( ticks + $(cpu_ticks $PID) - t0 ))
  done
  if [ "$name" = bundled ]; then embed_alone "$WORK/questions.txt" $secs >> "$WORK/alone"; fi
  python3 - "$name" "$ticks" "$TICK" "$WORK/rps-$name" "$WORK"/wrk-"$name"-*.txt <<'PY'
import json, re, sys
name, ticks, tick, rps_out, paths = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
n = secs = bad = 0
p99s = []
def ms(v):
    x, unit = re.fullmatch(r"([\d.]+)(\w+)", v).groups()
    return float(x) * {"us": 1e-3, "ms": 1, "s": 1e3, "m": 6e4}[unit]
for path in paths:
    out = open(path).read()
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    n += int(m.group(1))
    secs += ms(m.group(2) + m.group(3)) / 1000
    b = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad += int(b.group(1)) if b else 0
    p99s.append(ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)))
rps = n / secs
cpu_us = ticks / tick * 1e6 / max(n, 1)
open(rps_out, "w").write(f"{rps:.1f}\n")
slices = f" in {len(paths)} slices" if len(paths) > 1 else ""
print(f"{name}: {n} queries{slices}, {rps:.0f} req/s, p99 {max(p99s):.2f}ms{' (worst slice)' if slices else ''}, "
      f"ragd CPU {cpu_us:.0f} µs per query" + (f", {bad} non-2xx" if bad else ""))
print("result " + json.dumps({"embedder": name, "queries": n, "req_per_s": round(rps, 1),
                              "ragd_cpu_us_per_query": round(cpu_us, 1), "non_2xx": bad}))
PY
  if [ -n "${RAGKIT_PERF:-}" ] && [ "$name" = remote ]; then
    QUERY_MODE=unique wrk -t1 -c16 -d12s -s tests/bench/query.lua $B > /dev/null &
    local load=$!
    sleep 2
    perf record -F 999 -g --call-graph dwarf,16384 -p $PID -o "$RAGKIT_PERF" -- sleep 8 2>/dev/null
    wait $load
    echo "profile of the remote run: $RAGKIT_PERF (python3 tests/bench/perf_shares.py $RAGKIT_PERF NAME...)"
  fi
  kill $PID; wait $PID 2>/dev/null || true; PID=
}

# The embedder alone: one question per call, 2 threads, SECS seconds; with
# a FILE, on its lines. Prints embeds/s.
embed_alone() { # [FILE] SECS
  $BIN bench-embed --threads 2 --seconds "$2" ${1:+--texts "$1"} |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["per_second"], 1))'
}
# The limit is the embedder alone on the questions wrk sends (query.lua's
# form, about 19 tokens), measured in slices alternating with the bundled
# run's (in run, above). bench-embed's own made-up questions are shorter
# (about 16 tokens) and faster to embed: measured once here, the figure
# earlier runs quoted.
python3 tests/bench/questions.py "$WORK/questions.txt"
echo "== the embedder alone on bench-embed's own shorter questions, 2 threads, 15 s"
short=$(embed_alone "" 15)
echo "embedder alone: $short embeds/s on bench-embed's questions"
echo "== remote embedder (embed_stub.py on 127.0.0.1:$STUB_PORT): ragd's own work"
run remote RAGD_EMBEDDERS__DEFAULT__KIND=openai RAGD_EMBEDDERS__DEFAULT__URL=http://127.0.0.1:$STUB_PORT \
  RAGD_EMBEDDERS__DEFAULT__MODEL=stub RAGD_EMBEDDERS__DEFAULT__DIMENSIONS=384
echo "== bundled embedder (MiniLM in-process)"
run bundled RAGD_EMBEDDERS__DEFAULT__KIND=pocket
python3 - "$(cat "$WORK/rps-bundled")" "$short" $(cat "$WORK/alone") <<'PY'
import json, statistics, sys
rps, short, alone = float(sys.argv[1]), float(sys.argv[2]), [float(x) for x in sys.argv[3:]]
limit = statistics.mean(alone)
print(f"embedder alone on wrk's questions, slices around the bundled run's: {', '.join(map(str, alone))} embeds/s (mean {limit:.1f})")
print(f"bundled / embedder alone: {rps / limit:.2f} on wrk's questions ({rps / short:.2f} against bench-embed's shorter ones)")
print("result " + json.dumps({"embedder_alone_per_s": round(limit, 1), "embedder_alone_slices": alone,
                              "embedder_alone_short_questions_per_s": short,
                              "bundled_over_embedder_alone": round(rps / limit, 3),
                              "bundled_over_short_questions": round(rps / short, 3)}))
PY
