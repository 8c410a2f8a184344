"""In-process A/B cost of `rpprof.labels`: "requests" of about 100 us of CPU each (10,000
a second), in chunks that alternate in random order between plain requests and requests
each run inside a `with rpprof.labels(endpoint=..., tenant=...)` block: a fresh one per
request (`fresh`), or one of twelve made once (`reused`: `with CART_ACME:`); `none`
compares plain chunks with plain chunks (the measurement's noise). Compares
this thread's CPU time per pair of chunks; prints JSON.

    rpprof record -o /dev/null ab_labels.py [ROUNDS] [REQUESTS] [fresh|reused|none]
    rpprof run ab_labels.py [ROUNDS] [REQUESTS] [fresh|reused|none]      # no profiler
"""

import json
import random
import statistics
import sys
import time

import rpprof

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
STYLE = sys.argv[3] if len(sys.argv) > 3 else "fresh"
ENDPOINTS = ["/cart", "/home", "/search", "/checkout"]
TENANTS = ["acme", "globex", "initech"]


def spin(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1_000_003
    return total


def calibrate(target_s=100e-6):
    """Loop iterations that take `target_s` of CPU."""
    n = 20_000
    start = time.thread_time()
    spin(n)
    per = (time.thread_time() - start) / n
    return max(1, int(target_s / per))


def plain(work):
    start = time.thread_time()
    for i in range(REQUESTS):
        spin(work)
    return time.thread_time() - start


def fresh(work):
    start = time.thread_time()
    for i in range(REQUESTS):
        with rpprof.labels(endpoint=ENDPOINTS[i % 4], tenant=TENANTS[i % 3]):
            spin(work)
    return time.thread_time() - start


MADE = [[rpprof.labels(endpoint=e, tenant=t) for t in TENANTS] for e in ENDPOINTS]


def reused(work):
    start = time.thread_time()
    for i in range(REQUESTS):
        with MADE[i % 4][i % 3]:
            spin(work)
    return time.thread_time() - start


# `none`: plain against plain, the noise floor of the measurement.
labelled = {"fresh": fresh, "reused": reused, "none": plain}[STYLE]


WORK = calibrate()
plain(WORK)  # warm up
labelled(WORK)
chooser = random.Random(11)
ratios, plain_times = [], []
for _ in range(ROUNDS):
    times = {}
    for name in chooser.sample(["plain", "labelled"], 2):
        times[name] = (plain if name == "plain" else labelled)(WORK)
    ratios.append(times["labelled"] / times["plain"])
    plain_times.append(times["plain"])
ratios.sort()
per_request_s = statistics.median(plain_times) / REQUESTS
print(json.dumps({
    "style": STYLE,
    "rounds": ROUNDS,
    "requests_per_chunk": REQUESTS,
    "plain_request_us": per_request_s * 1e6,
    "entries_per_s": 1.0 / per_request_s,
    "median": statistics.median(ratios),
    "min": ratios[0],
    "max": ratios[-1],
    "cost_per_entry_us": (statistics.median(ratios) - 1.0) * per_request_s * 1e6,
}))
