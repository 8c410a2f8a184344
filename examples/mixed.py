"""Threads that compute, sleep and wait on a lock: what a wall-clock profile is for.

- `cruncher` computes without pause.
- `poller` sleeps most of the time and wakes briefly to do a little work.
- `waiter` blocks on a lock that the main thread holds for most of the run.

A CPU profile shows mostly `cruncher`; a wall-clock profile (`--mode wall`) shows all three,
with `poller` idle in `time.sleep` and `waiter` idle in `Lock.acquire`.

    rpprof record --mode wall -o mixed.svg examples/mixed.py
"""

import sys
import threading
import time


def crunch(deadline):
    rounds = 0
    while time.monotonic() < deadline:
        total = 0
        for i in range(2_000):
            total += i * i
        rounds += 1
    return rounds


def poll(deadline):
    wakeups = 0
    while time.monotonic() < deadline:
        time.sleep(0.03)
        sum(range(2_000))
        wakeups += 1
    return wakeups


def wait_for(lock):
    with lock:
        return "got the lock"


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    deadline = time.monotonic() + seconds
    gate = threading.Lock()
    gate.acquire()
    results = {}
    threads = [
        threading.Thread(name="cruncher", target=lambda: results.update(cruncher=crunch(deadline))),
        threading.Thread(name="poller", target=lambda: results.update(poller=poll(deadline))),
        threading.Thread(name="waiter", target=lambda: results.update(waiter=wait_for(gate))),
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    gate.release()
    for thread in threads:
        thread.join()
    print("cruncher ran", "at least once" if results["cruncher"] > 0 else "never")
    print("poller woke", "at least once" if results["poller"] > 0 else "never")
    print("waiter", results["waiter"])


if __name__ == "__main__":
    main()
