# What the benchmark scripts share. Source it from the repository's root:
#   cd "$(dirname "$0")/../.."; . tests/bench/lib.sh

# bench_ragd_bin: the ragd to measure. RAGKIT_RAGD_BIN=PATH names another
# build (e.g. a copy of an earlier one, for a before/after comparison in one
# session); otherwise this tree is built in release mode.
bench_ragd_bin() {
  if [ -z "${RAGKIT_RAGD_BIN:-}" ]; then cargo build --release -q -p ragd >&2; fi
  echo "${RAGKIT_RAGD_BIN:-${CARGO_TARGET_DIR:-target}/release/ragd}"
}

# bench_two_documents URL: create collection `bench` on the ragd at URL
# with two short documents, the one the cached question asks about
# ("What happened to the river dam during the migration?") and another.
bench_two_documents() {
  curl -sf "$1/v1/collections" -H 'content-type: application/json' -d '{"name":"bench"}' >/dev/null
  curl -sf "$1/v1/collections/bench/documents" -H 'content-type: application/json' -d '{"documents":[
    {"id":"dam","text":"During the migration the river dam was inspected and its gates were replaced."},
    {"id":"crane","text":"The harbour crane was serviced at night."}]}' >/dev/null
}

# bench_callgrind OUT RAGD DATA_DIR PORT WARM_CMD COUNT_CMD [ENV...]: run
# RAGD serve on DATA_DIR under `valgrind --tool=callgrind` with ENV set, run
# WARM_CMD (not counted), zero the counts, run COUNT_CMD, and write the
# counts to OUT.1 (read them with `callgrind_annotate --inclusive=yes`).
# The commands are strings run by bash once ragd answers on PORT. Prints
# the program's total instructions.
bench_callgrind() {
  local out=$1 ragd=$2 data=$3 port=$4 warm=$5 count=$6; shift 6
  env RUST_LOG=warn "$@" valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$ragd" serve --listen 127.0.0.1:"$port" --data-dir "$data" 2>>"$out.log" &
  local pid=$!
  bench_wait_up http://127.0.0.1:"$port" 300 || { kill "$pid"; tail "$out.log" >&2; return 1; }
  bash -c "$warm" >&2 || { kill "$pid"; return 1; }
  callgrind_control -z "$pid" >/dev/null 2>&1
  bash -c "$count" >&2 || { kill "$pid"; return 1; }
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  callgrind_annotate "$out.1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1; exit}'
}

# One line naming the machine, printed before any figure.
bench_machine() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
}

# bench_wait_up URL [SECONDS=60]: wait until URL/health answers; fails
# (with a message) when it does not within SECONDS.
bench_wait_up() {
  local tries=$(( ${2:-60} * 10 ))
  for _ in $(seq "$tries"); do
    curl -sf "$1/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "not up after ${2:-60} s: $1" >&2
  return 1
}

# bench_wait_indexed URL [SECONDS=600]: wait until the ragd at URL has no
# vector-indexing work queued (its HNSW index is built), so that searches
# are measured on the index, not on a brute-force scan; fails (with a
# message) when it does not within SECONDS.
bench_wait_indexed() {
  local depth
  for _ in $(seq "${2:-600}"); do
    depth=$(curl -sf "$1/status" | python3 -c 'import json,sys; print([q["depth"] for q in json.load(sys.stdin)["queues"] if q["name"]=="vector-indexing"][0])')
    [ "$depth" = 0 ] && return 0
    sleep 1
  done
  echo "still indexing after ${2:-600} s: $1" >&2
  return 1
}

# bench_load URL DIR: create collection `bench` on the ragd at URL and send
# it every ingest request of DIR (tests/bench/gen_corpus.py's output), one
# after another.
bench_load() {
  curl -sf "$1/v1/collections" -H 'content-type: application/json' -d '{"name":"bench"}' >/dev/null
  for f in "$2"/*.json; do
    curl -sf "$1/v1/collections/bench/documents" -H 'content-type: application/json' \
      --data-binary @"$f" >/dev/null
  done
}
