"""Allocations with known answers, for the allocation profiler's accuracy tests.

Three functions allocate and keep 60, 30 and 10 MiB (`big` and `small` on the thread
"worker", `medium` on the main thread); `leak_some` allocates 200 MiB and keeps 20 MiB of it;
`churn` allocates 100 MiB and keeps none. Blocks are 16 KiB: smaller than the sampling
intervals the tests use, so the totals are estimated, not counted.

With an argument `api`, the same work is recorded through `rpprof.start(alloc=True)`.
"""

import sys
import threading

BLOCK = 16 * 1024
MIB_BLOCKS = (1 << 20) // BLOCK

KEPT_BIG = []
KEPT_MEDIUM = []
KEPT_SMALL = []
LEAKED = []


def big():
    for _ in range(60 * MIB_BLOCKS):
        KEPT_BIG.append(bytearray(BLOCK))


def medium():
    for _ in range(30 * MIB_BLOCKS):
        KEPT_MEDIUM.append(bytearray(BLOCK))


def small():
    for _ in range(10 * MIB_BLOCKS):
        KEPT_SMALL.append(bytearray(BLOCK))


def leak_some():
    for i in range(200 * MIB_BLOCKS):
        block = bytearray(BLOCK)
        if i % 10 == 0:
            LEAKED.append(block)


def churn():
    for _ in range(100 * MIB_BLOCKS):
        block = bytearray(BLOCK)
        block[0] = 1


def work():
    worker = threading.Thread(target=lambda: (big(), small()), name="worker")
    worker.start()
    medium()
    leak_some()
    churn()
    worker.join()


if sys.argv[1:] == ["api"]:
    import rpprof

    with rpprof.profile(sys.argv[0] + ".pb.gz", alloc=True, alloc_interval=32 * 1024):
        work()
else:
    work()
print("done")
