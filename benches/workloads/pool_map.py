"""A 4-process multiprocessing Pool.map of pure-Python CPU work (the `subprocesses`
benchmark). Usage: pool_map.py START_METHOD ITERATIONS ITEMS. Prints, as JSON, the CPU
seconds each worker spent in `work`, by pid."""

import json
import multiprocessing
import os
import sys
import time


def work(n):
    start = time.process_time()
    total = 0
    for i in range(n):
        total += i * i % 7
    return os.getpid(), time.process_time() - start


if __name__ == "__main__":
    method, iterations, items = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    by_pid = {}
    with multiprocessing.get_context(method).Pool(4) as pool:
        for pid, cpu in pool.map(work, [iterations] * items):
            by_pid[pid] = by_pid.get(pid, 0.0) + cpu
    print(json.dumps(by_pid))
