"""Three named threads in known places for as long as argv[1] says (seconds, default 3):
`spinner` computes in spin(), `sleeper` sleeps in nap(), `blocked` waits on a lock in
wait_on_lock() that the main thread holds until the end. Prints `ready` once all three
run, and `done` at the end."""

import sys
import threading
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
deadline = time.monotonic() + seconds
gate = threading.Lock()
gate.acquire()


def spin():
    total = 0
    while time.monotonic() < deadline:
        for i in range(1000):
            total += i * i  # spin line
    return total


def nap():
    while time.monotonic() < deadline:
        time.sleep(0.05)  # nap line


def wait_on_lock():
    with gate:  # lock line
        pass


threads = [
    threading.Thread(name="spinner", target=spin),
    threading.Thread(name="sleeper", target=nap),
    threading.Thread(name="blocked", target=wait_on_lock),
]
for thread in threads:
    thread.start()
print("ready", flush=True)
time.sleep(max(0.0, deadline - time.monotonic()))
gate.release()
for thread in threads:
    thread.join()
print("done", flush=True)
