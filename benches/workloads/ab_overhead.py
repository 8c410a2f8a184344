"""In-process A/B overhead: run the same chunk of work with sampling on and off, alternating
in random order within one process, and compare this thread's CPU time for each. Drift of a
shared machine hits both halves of a pair alike. Prints JSON.

Run under `rpprof run` (it uses the in-script API):

    rpprof run ab_overhead.py RATE [MODE] [ROUNDS] [ITERATIONS] [DEPTH]
"""

import json
import random
import statistics
import sys
import time

import rpprof
from cpu_bound import descend  # the same work as the end-to-end overhead runs

RATE = int(sys.argv[1])
MODE = sys.argv[2] if len(sys.argv) > 2 else "cpu"
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 40
ITERATIONS = int(sys.argv[4]) if len(sys.argv) > 4 else 600_000
DEPTH = int(sys.argv[5]) if len(sys.argv) > 5 else 30


def chunk():
    start = time.thread_time()
    descend(DEPTH - 2, ITERATIONS)
    return time.thread_time() - start


chooser = random.Random(7)
chunk()  # warm up
ratios = []
for _ in range(ROUNDS):
    times = {}
    for sampled in chooser.sample([False, True], 2):
        if sampled:
            rpprof.start(rate=RATE, mode=MODE)
            times[True] = chunk()
            rpprof.stop()
        else:
            times[False] = chunk()
    ratios.append(times[True] / times[False])
ratios.sort()
print(json.dumps({
    "rate": RATE,
    "mode": MODE,
    "rounds": ROUNDS,
    "median": statistics.median(ratios),
    "p25": ratios[len(ratios) // 4],
    "p75": ratios[3 * len(ratios) // 4],
}))
