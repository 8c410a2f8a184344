"""CPU time inside a builtin: sorting a big list, ROUNDS (argv[1], default 8) times."""

import random
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 8
data = [random.random() for _ in range(200_000)]


def work():
    total = 0
    for _ in range(ROUNDS):
        ordered = sorted(data)
        total += len(ordered)
    return total


print(work())
