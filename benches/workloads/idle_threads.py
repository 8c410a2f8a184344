"""Wall-mode benchmark workload: the main thread computes for ITERATIONS iterations while
THREADS-1 other threads mostly sleep (they wake every 50 ms to do a little work).

    idle_threads.py [ITERATIONS] [THREADS]
"""

import sys
import threading
import time

ITERATIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 15_000_000
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
stop = threading.Event()


def idle_worker():
    while not stop.is_set():
        time.sleep(0.05)
        sum(range(100))


def spin(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1_000_003
    return total


workers = [threading.Thread(target=idle_worker, name=f"idle-{i}") for i in range(THREADS - 1)]
for w in workers:
    w.start()
spin(ITERATIONS)
stop.set()
for w in workers:
    w.join()
