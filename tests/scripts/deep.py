# A chain of DEPTH calls (default 300, deeper than --max-depth) that burns CPU at the bottom.
#
#     deep.py [DEPTH]
import sys

DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 300
sys.setrecursionlimit(DEPTH + 1000)


def down(depth):
    if depth == 0:
        total = 0
        for i in range(1_500_000):
            total = (total + i) % 7919
        return total
    return down(depth - 1)


print(down(DEPTH))
