# Two threads each burn CPU for a fixed time and report their own CPU time
# (time.thread_time) on stdout as "cpu <name> <seconds>".
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
results = {}


def burn(name):
    start = time.thread_time()
    x = 0
    while time.thread_time() - start < SECONDS:
        for i in range(2000):
            x = (x + i) % 9973
    results[name] = time.thread_time() - start


threads = [threading.Thread(target=burn, args=(n,), name=n) for n in ("busy-a", "busy-b")]
for t in threads:
    t.start()
for t in threads:
    t.join()
for name in sorted(results):
    print(f"cpu {name} {results[name]:.6f}")
