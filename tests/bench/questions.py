#!/usr/bin/env python3
"""Questions of the form tests/bench/query.lua sends (QUERY_MODE=unique),
one per line, for `ragd bench-embed --texts FILE`.

    python3 tests/bench/questions.py FILE [COUNT=8000]

The embedder alone must be measured on the text ragd is given: its cost
grows with the number of tokens, and query.lua's questions (a subject of
one or two words, a counter, a random number up to 1,000,000: about 19
WordPiece tokens) are longer than bench-embed's own made-up questions
(about 16). The subjects and the format are read from query.lua itself
(its `subjects` table and the `string.format` of its `request()`), so the
two cannot drift apart; the wrk thread id is 1, as with `wrk -t1`.
"""
import pathlib
import random
import re
import sys

LUA = pathlib.Path(__file__).with_name("query.lua")


def form():
    """query.lua's subjects and its unique-question format (%s, %d...)."""
    lua = LUA.read_text()
    table = re.search(r"local subjects = \{(.*?)\}", lua, re.S)
    fmt = re.search(r'string\.format\("([^"]*)",\s*subjects\[', lua)
    if not table or not fmt:
        sys.exit(f"questions.py: cannot find the subjects or the question format in {LUA}")
    return re.findall(r'"([^"]+)"', table.group(1)), fmt.group(1)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: questions.py FILE [COUNT]")
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 8000
    subjects, fmt = form()
    rng = random.Random(1)
    with open(sys.argv[1], "w") as f:
        for counter in range(1, count + 1):
            # query.lua: subject, thread id, counter, math.random(1000000).
            f.write(fmt % (rng.choice(subjects), 1, counter, rng.randint(1, 1000000)) + "\n")


if __name__ == "__main__":
    main()
