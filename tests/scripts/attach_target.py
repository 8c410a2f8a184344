"""A long-running program to attach to: `heavy` computes 3/4 of the time, `light` 1/4 (each
busy for a slice of every 40 ms, then asleep), the main thread waits. Runs for argv[1]
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


def busy(until):
    total = 0
    while time.monotonic() < until:
        for i in range(200):
            total += i * i  # busy line
    return total


def duty(busy_s, idle_s):
    while time.monotonic() < deadline:
        busy(time.monotonic() + busy_s)
        time.sleep(idle_s)


def heavy():
    duty(0.030, 0.010)


def light():
    duty(0.010, 0.030)


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
