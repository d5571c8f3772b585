#!/usr/bin/env python3
"""Deterministic synthetic corpus for ragd benchmarks.

Writes ingest request bodies (JSON) to OUT_DIR: DOCS documents of PARAS
paragraphs each. Every paragraph is ~400 characters, under ragd's default
chunk size, so each becomes exactly one chunk: DOCS x PARAS chunks in all.

usage: gen_corpus.py OUT_DIR [DOCS=1000] [PARAS=10] [PER_REQUEST=50]
"""
import json
import os
import random
import sys

SUBJECTS = ["The reservoir", "A night shift", "The billing service", "Our warehouse", "The river dam",
            "The orbital telescope", "A cache cluster", "The harbour crane", "The bakery oven",
            "The wind farm", "A ticket queue", "The greenhouse", "The payroll job", "A glacier",
            "The subway line", "The vaccine fridge", "A solar array", "The library index"]
VERBS = ["reported", "measured", "doubled", "stalled", "recovered", "exceeded", "lost", "stored",
         "rotated", "throttled", "absorbed", "emitted", "replicated", "indexed", "drained"]
OBJECTS = ["its daily quota", "the pressure limit", "four thousand requests", "the cold backlog",
           "a thin layer of ice", "the evening peak", "nine hundred litres", "the audit trail",
           "most of the heat", "a quarter of the load", "the replica lag", "the spare capacity"]
TAILS = ["after the storm", "during the migration", "before dawn", "while the team slept",
         "under the new policy", "at the end of the quarter", "without any alarm",
         "because the sensor drifted", "when the second pump failed", "as the forecast predicted"]


def sentence(rng):
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}."


def paragraph(rng, doc, para):
    words = [f"Record {doc}-{para}."]
    while sum(len(w) + 1 for w in words) < 380:
        words.append(sentence(rng))
    return " ".join(words)


def main():
    out = sys.argv[1]
    docs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    paras = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    per_request = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    rng = random.Random(42)
    os.makedirs(out, exist_ok=True)
    batch, n = [], 0
    for d in range(docs):
        text = "\n\n".join(paragraph(rng, d, p) for p in range(paras))
        batch.append({"id": f"doc-{d:05}", "text": text, "metadata": {"shard": d % 8}})
        if len(batch) == per_request:
            with open(os.path.join(out, f"batch-{n:04}.json"), "w") as f:
                json.dump({"documents": batch}, f)
            batch, n = [], n + 1
    if batch:
        with open(os.path.join(out, f"batch-{n:04}.json"), "w") as f:
            json.dump({"documents": batch}, f)


if __name__ == "__main__":
    main()
