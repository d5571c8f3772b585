#!/usr/bin/env python3
"""Questions of the form tests/bench/query.lua sends (QUERY_MODE=unique),
one per line, for `ragd bench-embed --texts FILE`.

    python3 tests/bench/questions.py FILE [COUNT=8000]

The embedder alone must be measured on the text ragd is given: its cost
grows with the number of tokens, and query.lua's questions (a subject of
one or two words, a counter, a random number up to 1,000,000: about 19
WordPiece tokens) are longer than bench-embed's own made-up questions
(about 16). Keep the format in step with query.lua's `request()`, with
one wrk thread (tid 1).
"""
import random
import sys

SUBJECTS = ["reservoir", "night shift", "billing service", "warehouse", "river dam",
            "telescope", "cache cluster", "harbour crane", "bakery oven", "wind farm"]


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: questions.py FILE [COUNT]")
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 8000
    rng = random.Random(1)
    with open(sys.argv[1], "w") as f:
        for counter in range(1, count + 1):
            subject = rng.choice(SUBJECTS)
            f.write(f"What did the {subject} report (1-{counter}-{rng.randint(1, 1000000)})?\n")


if __name__ == "__main__":
    main()
