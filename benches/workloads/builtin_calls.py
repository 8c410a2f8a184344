"""Benchmark workload for `--native`: a thread that spends most of its CPU inside builtins
(sorting a list, joining strings, summing), called from Python lines, ROUNDS times.

    builtin_calls.py [ROUNDS]
"""

import random
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
data = [random.random() for _ in range(100_000)]
words = [str(x) for x in data]


def work():
    total = 0
    for _ in range(ROUNDS):
        total += len(sorted(data))
        total += len(",".join(words))
        total += int(sum(data))
    return total


print(work())
