# Three threads in known states for wall-clock sampling:
# - `sleeper` sleeps 150 ms, then spins 50 ms: about 75% of its wall time blocked;
# - `spinner` spins the whole time: never blocked;
# - `blocked` waits on a lock that the main thread holds until the end (line 28).
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
deadline = time.monotonic() + SECONDS


def sleeper():
    while time.monotonic() < deadline:
        time.sleep(0.15)
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            pass


def spinner():
    x = 0
    while time.monotonic() < deadline:
        x += 1


def blocked(lock):
    lock.acquire()
    lock.release()


gate = threading.Lock()
gate.acquire()
threads = [
    threading.Thread(target=sleeper, name="sleeper"),
    threading.Thread(target=spinner, name="spinner"),
    threading.Thread(target=blocked, args=(gate,), name="blocked"),
]
for t in threads:
    t.start()
time.sleep(SECONDS)
gate.release()
for t in threads:
    t.join()
print("done")
