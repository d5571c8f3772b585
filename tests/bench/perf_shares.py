#!/usr/bin/env python3
"""Inclusive shares of a perf profile: the share of samples with a frame
whose symbol contains each NAME (a function and everything it called).

usage: perf_shares.py PERF_DATA NAME [NAME...]

PERF_DATA is a `perf record -g --call-graph dwarf` file, such as the one
`RAGKIT_PERF=FILE bash tests/bench/query-overhead.sh` writes; the figures
in docs/BENCHMARKS.md ("where ragd's own work goes") came from it with
names like Extractive::answer, units::units, qdrant_edge, sqlx_sqlite,
sqlite3, hyper:: and malloc. A sample counts once per NAME however many of
its frames match. Needs `perf` on PATH.
"""
import subprocess
import sys


def samples(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym"],
                         capture_output=True, text=True, errors="replace", check=True).stdout
    stack = None
    for line in out.splitlines():
        if not line.strip():
            if stack is not None:
                yield stack
            stack = None
        elif not line[0].isspace():
            stack = []  # a sample's header line: thread name and id
        elif stack is not None:
            parts = line.split(None, 1)
            stack.append(parts[1] if len(parts) > 1 else parts[0])
    if stack is not None:
        yield stack


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    names = sys.argv[2:]
    hits = dict.fromkeys(names, 0)
    total = 0
    for stack in samples(sys.argv[1]):
        total += 1
        for n in names:
            if any(n in frame for frame in stack):
                hits[n] += 1
    print(f"{total} samples")
    for n in names:
        print(f"{100 * hits[n] / max(total, 1):6.2f}%  {n}")


if __name__ == "__main__":
    main()
