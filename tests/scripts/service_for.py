# A small service that runs for argv[1] seconds: two named worker threads compute, the
# main thread waits. Used by the agent tests.
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
stop = threading.Event()


def handle_requests():
    x = 0
    while not stop.is_set():
        for i in range(5_000):
            x = (x * 31 + i) % 1_000_003


workers = [threading.Thread(target=handle_requests, name=f"handler-{i}") for i in range(2)]
for w in workers:
    w.start()
time.sleep(SECONDS)
stop.set()
for w in workers:
    w.join()
print("service done")
