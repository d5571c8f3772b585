#!/usr/bin/env bash
# Retrieval quality per file format (docs/BENCHMARKS.md): the project's
# docs/*.md, rendered as HTML, DOCX and PDF by tests/bench/formats_eval.py,
# each format bulk-ingested with `ragctl ingest` into a collection of its
# own, then docs/eval/questions.jsonl asked of each (expected ids renamed
# to that format's files) with `loadgen eval` in the three retrieval modes.
# What the Markdown row scores, the others would score with lossless
# extraction.
#
#   bash tests/bench/formats-eval.sh
#
# Uses the debug build (cargo build --workspace); one ragd on loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${CARGO_TARGET_DIR:-target}/debug
VENV=${RAGKIT_BENCH_VENV:-$HOME/.cache/ragkit-bench-venv}
[ -x "$BIN/ragd" ] || { echo "build first: cargo build --workspace" >&2; exit 2; }
if ! "$VENV/bin/python" -c 'import docx, reportlab' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q python-docx reportlab
fi
source tests/scratch-ragd.sh
scratch_ragd "$BIN/ragd"
"$VENV/bin/python" tests/bench/formats_eval.py "$WORK/out" docs/eval/questions.jsonl
for f in md html docx pdf; do
  "$BIN/ragctl" --target $B ingest "$WORK/out/$f" --collection "fmt-$f" --create --json >"$WORK/ingest-$f.json"
  "$BIN/loadgen" eval "$WORK/out/questions-$f.jsonl" --target $B --collection "fmt-$f" --json >"$WORK/eval-$f.json" 2>>"$WORK/eval.log"
done
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
print(f"{'format':<7} {'files':>5} {'chunks':>6}  " + "  ".join(f"{m:>6} hit@1 {'MRR':>5}" for m in ("sparse", "dense", "hybrid")))
for f in ("md", "html", "docx", "pdf"):
    ing = json.load(open(f"{work}/ingest-{f}.json"))
    ev = json.load(open(f"{work}/eval-{f}.json"))
    modes = {m["mode"]: m for m in ev["modes"]}
    cells = []
    for m in ("sparse", "dense", "hybrid"):
        r = modes[m]
        cells.append(f"{r['hit_at_1']:>12.2f} {r['mrr']:>5.2f}")
    print(f"{f:<7} {ing['ingested']:>5} {ing['chunks']:>6}  " + "  ".join(cells))
PY
