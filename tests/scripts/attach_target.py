"""A long-running program to attach to: `heavy` does 3/4 of the work, `light` 1/4 (in
rounds: each round heavy computes 3 units and light 1, then both meet at a barrier, so the
shares hold however busy the machine is), the main thread waits. Runs for argv[1]
seconds (default 30), prints `ready` once the threads run and `done` at the end. With
`take-signal` as argv[2] it first takes SIGRTMIN+6 (rpprof's attach signal) for itself,
and counts the signals its handler got."""

import signal
import sys
import threading
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
deadline = time.monotonic() + seconds
got = []
if len(sys.argv) > 2 and sys.argv[2] == "take-signal":
    # RustPython has no signal.SIGRTMIN; glibc's is 34.
    signal.signal(getattr(signal, "SIGRTMIN", 34) + 6, lambda number, frame: got.append(number))


def work(units):
    total = 0
    for i in range(units * 20000):
        total += i * i  # busy line
    return total


rounds = threading.Barrier(2)


def share(units):
    while time.monotonic() < deadline:
        work(units)
        try:
            rounds.wait(timeout=2)
        except threading.BrokenBarrierError:
            return
    rounds.abort()


def heavy():
    share(3)


def light():
    share(1)


threads = [
    threading.Thread(name="heavy", target=heavy),
    threading.Thread(name="light", target=light),
]
for thread in threads:
    thread.start()
print("ready", flush=True)
time.sleep(max(0.0, deadline - time.monotonic()))
for thread in threads:
    thread.join()
print(f"done signals={len(got)}", flush=True)
