"""A long-running program to attach to: `heavy` does 3/4 of the work, `light` 1/4, the
main thread waits. They take turns (heavy computes 3 units while light waits, then light 1
while heavy waits), so neither ever runs beside the other: the CPU split is 3:1 however
busy the machine is (run side by side, the one that runs alone part of the time runs
faster, and the split moved with the load: 69-73% on a quiet machine). Runs for argv[1]
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
    for i in range(units * 200000):
        total += i * i  # busy line
    return total


turns = {"heavy": threading.Semaphore(1), "light": threading.Semaphore(0)}
ended = threading.Event()


def share(units, mine, other):
    while time.monotonic() < deadline and not ended.is_set():
        if not turns[mine].acquire(timeout=0.5):
            continue
        work(units)
        turns[other].release()
    ended.set()


def heavy():
    share(3, "heavy", "light")


def light():
    share(1, "light", "heavy")


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
