"""`rpprof top` benchmark workload: THREADS threads that wake every 50 ms to do a little
work, for SECONDS seconds; one of them (`busy`) computes without pause.

    sleepers.py [SECONDS] [THREADS]
"""

import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
deadline = time.monotonic() + SECONDS


def sleeper():
    while time.monotonic() < deadline:
        time.sleep(0.05)
        sum(range(100))


def busy():
    total = 0
    while time.monotonic() < deadline:
        for i in range(1000):
            total = (total * 31 + i) % 1_000_003


threads = [threading.Thread(target=busy, name="busy")]
threads += [threading.Thread(target=sleeper, name=f"sleeper-{i}") for i in range(THREADS - 1)]
for t in threads:
    t.start()
for t in threads:
    t.join()
