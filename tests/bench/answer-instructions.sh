#!/usr/bin/env bash
# Where an uncached question's instructions go (docs/BENCHMARKS.md, "The
# answer's term sets, in instructions"): a release ragd under
# `valgrind --tool=callgrind`, sparse retrieval (no embedding, so every
# instruction is ragd's own work), over the DOCS x PARAS corpus of
# gen_corpus.py.
#
#   bash tests/bench/answer-instructions.sh [DOCS=300] [PARAS=10] [QUESTIONS=400]
#
# QUESTIONS distinct questions of query.lua's form (after 40 not counted),
# over 4 keep-alive connections. Prints instructions per question: the
# whole program, the extractive answer and its parts. Callgrind counts the
# same for the same build and load whatever the machine does, so two builds
# compare without interleaving (RAGKIT_RAGD_BIN, see lib.sh).
# RAGKIT_CALLGRIND_DIR=DIR keeps the counts (DIR/cg.1). About 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
DOCS=${1:-300}
PARAS=${2:-10}
N=${3:-400}
PORT=18094
B=http://127.0.0.1:$PORT
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
RAGD=$(bench_ragd_bin)
WORK=$(mktemp -d)
KEEP=${RAGKIT_CALLGRIND_DIR:-$WORK}
mkdir -p "$KEEP"
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

cat > "$WORK/client.py" <<'PY'
import http.client, random, sys, threading
port, n, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
# query.lua's subjects and question format, read by tests/bench/questions.py.
sys.path.insert(0, "tests/bench")
from questions import form
subjects, fmt = form()
rng = random.Random(seed)
bad = []
def work(k, t):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(k):
        q = fmt % (rng.choice(subjects), t + 1, i + 1, rng.randint(1, 1000000))
        c.request("POST", "/v1/collections/bench/query",
                  '{"question":"%s","top_k":5,"mode":"sparse"}' % q, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            bad.append(r.status)
threads = [threading.Thread(target=work, args=(n // 4, t)) for t in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
if bad:
    sys.exit(f"answer-instructions: {len(bad)} answers were not 200, e.g. {bad[0]}")
PY

bench_machine
python3 tests/bench/gen_corpus.py "$WORK/corpus" "$DOCS" "$PARAS" 50 >/dev/null
RUST_LOG=warn $RAGD serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" 2>>"$WORK/ragd.log" &
PID=$!
bench_wait_up $B 60 || { tail "$WORK/ragd.log"; exit 1; }
echo "loading $DOCS x $PARAS chunks..."
bench_load $B "$WORK/corpus"
bench_wait_indexed $B
kill $PID; wait $PID 2>/dev/null || true; PID=

echo "== $N uncached sparse questions under callgrind: instructions per question"
all=$(bench_callgrind "$KEEP/cg" "$RAGD" "$WORK/data" $PORT \
  "python3 $WORK/client.py $PORT 40 1" "python3 $WORK/client.py $PORT $N 2" RAGD_RETRIEVAL__MODE=sparse)
callgrind_annotate --inclusive=yes "$KEEP/cg.1" 2>/dev/null | python3 -c '
import json, re, sys
n, total = int(sys.argv[1]), int(sys.argv[2])
# sentence_breaking: ragd'"'"'s ASCII splitter (answer::sentences) and the
# crate'"'"'s, which it hands other text to; their sum.
parts = {"answer": r"Extractive::answer$", "units": r"answer::units::units$",
         "sentence_breaking": r"(SentenceBreaks|sentences::Breaks) as core::iter",
         "term_sets": r"extractive::terms$"}
found, seen = {}, set()
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(.*?\)\s+\S*?:(.*) \[", line)
    if not m:
        continue
    for name, pat in parts.items():
        if re.search(pat, m.group(2)) and (name, m.group(2)) not in seen:
            seen.add((name, m.group(2)))
            found[name] = found.get(name, 0) + int(m.group(1).replace(",", "")) // n
print(f"whole question {total // n:>10,}")
for name in parts:
    print(f"{name:17} {found.get(name, 0):>9,}  ({found.get(name, 0) / (total / n):.0%})")
print("result " + json.dumps({"questions": n, "per_question": total // n, **found}))
' "$N" "$all"
