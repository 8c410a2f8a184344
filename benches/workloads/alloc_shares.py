"""Allocations with known shares, for comparing allocation profilers: per round,
`leak_some` allocates 200 MiB (keeps 20), `churn` 100 MiB (keeps none), `big` 60,
`medium` 30 and `small` 10 MiB (and keep them), in 16 KiB blocks: 50 / 25 / 15 / 7.5 /
2.5% of what is allocated. What rounds before the last kept is let go, so at the end
120 MiB is in use: big 50%, medium 25%, leak_some 16.7%, small 8.3%.

    alloc_shares.py [ROUNDS]
"""

import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
BLOCK = 16 * 1024
MIB_BLOCKS = (1 << 20) // BLOCK
KEPT = {}


def big():
    return [bytearray(BLOCK) for _ in range(60 * MIB_BLOCKS)]


def medium():
    return [bytearray(BLOCK) for _ in range(30 * MIB_BLOCKS)]


def small():
    return [bytearray(BLOCK) for _ in range(10 * MIB_BLOCKS)]


def leak_some():
    kept = []
    for i in range(200 * MIB_BLOCKS):
        block = bytearray(BLOCK)
        if i % 10 == 0:
            kept.append(block)
    return kept


def churn():
    for _ in range(100 * MIB_BLOCKS):
        block = bytearray(BLOCK)
        block[0] = 1


for _ in range(ROUNDS):
    KEPT.clear()
    KEPT["big"] = big()
    KEPT["medium"] = medium()
    KEPT["small"] = small()
    KEPT["leak"] = leak_some()
    churn()
print(sum(len(v) for v in KEPT.values()))
