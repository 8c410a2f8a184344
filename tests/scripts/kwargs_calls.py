"""CPU time inside a builtin called with `**kwargs` (CALL_FUNCTION_EX), directly and through
a relay like importlib's `_call_with_frames_removed(f, *args, **kwds)`, ROUNDS (argv[1],
default 6) times each."""

import random
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 6
data = [random.random() for _ in range(200_000)]
options = {"reverse": True}


def relay(f, *args, **kwargs):
    return f(*args, **kwargs)


def work():
    total = 0
    for _ in range(ROUNDS):
        total += len(sorted(data, **options))
        total += len(relay(sorted, data, **options))
    return total


print(work())
