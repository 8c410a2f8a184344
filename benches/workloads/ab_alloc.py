"""In-process A/B of allocation sampling: the same allocation-heavy chunk (alloc_heavy.py's
`build`) runs with `rpprof.start(alloc=True)` and with `rpprof.start()` (CPU sampling only,
the same rate), alternating in random order within one process; the ratio of this
thread's CPU time per pair is the cost of sampling allocations. Prints JSON.

    rpprof run ab_alloc.py [ROUNDS] [ROWS] [INTERVAL]
"""

import json
import random
import statistics
import sys
import time

import rpprof
from alloc_heavy import build

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
INTERVAL = int(sys.argv[3]) if len(sys.argv) > 3 else 512 * 1024


def chunk():
    start = time.thread_time()
    build(ROWS)
    return time.thread_time() - start


chooser = random.Random(11)
chunk()  # warm up
ratios = []
for _ in range(ROUNDS):
    times = {}
    for alloc in chooser.sample([False, True], 2):
        if alloc:
            rpprof.start(alloc_interval=INTERVAL)
        else:
            rpprof.start()
        times[alloc] = chunk()
        rpprof.stop()
    ratios.append(times[True] / times[False])
ratios.sort()
print(json.dumps({
    "rounds": ROUNDS,
    "interval": INTERVAL,
    "median": statistics.median(ratios),
    "p25": ratios[len(ratios) // 4],
    "p75": ratios[3 * len(ratios) // 4],
}))
