"""CPU-bound benchmark workload: THREADS threads each run a pure-Python loop at the bottom
of a DEPTH-deep call chain for ITERATIONS iterations.

    cpu_bound.py [ITERATIONS] [THREADS] [DEPTH]
"""

import sys
import threading


def spin(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1_000_003
    return total


def descend(depth, n):
    if depth <= 1:
        return spin(n)
    return descend(depth - 1, n)


def work(iterations, depth):
    # The module frame and work() make two frames; descend adds the rest.
    descend(depth - 2, iterations)


if __name__ == "__main__":
    ITERATIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000
    THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    DEPTH = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    if THREADS == 1:
        work(ITERATIONS, DEPTH)
    else:
        threads = [
            threading.Thread(target=work, args=(ITERATIONS, DEPTH), name=f"worker-{i}")
            for i in range(THREADS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
