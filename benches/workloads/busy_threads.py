"""Fidelity workload (the benchmarks and `tests/record_cpu.rs`): THREADS threads each burn
SECONDS/THREADS of CPU time (their own clock), then print "cpu NAME SECONDS" with what they
used.

    busy_threads.py THREADS [SECONDS]
"""

import sys
import threading
import time

THREADS = int(sys.argv[1])
BUDGET = (float(sys.argv[2]) if len(sys.argv) > 2 else 8.0) / THREADS
results = {}


def burn(name):
    start = time.thread_time()
    x = 0
    while time.thread_time() - start < BUDGET:
        for i in range(500):
            x = (x + i) % 9973
    results[name] = time.thread_time() - start


threads = [threading.Thread(target=burn, args=(f"busy-{i}",), name=f"busy-{i}") for i in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for name in sorted(results):
    print(f"cpu {name} {results[name]:.6f}")
