# Starts 1000 short-lived named threads, 100 at a time.
import threading
def work(i):
    t = 0
    for k in range(20_000):
        t += k * i
    return t
for batch in range(10):
    threads = [threading.Thread(target=work, args=(i,), name=f"short-{batch}-{i}") for i in range(100)]
    for t in threads: t.start()
    for t in threads: t.join()
print("1000 threads done")
# POSIX timers this process still holds (rpprof gives each sampled thread two).
with open("/proc/self/timers") as f:
    print("timers:", sum(1 for line in f if line.startswith("ID:")))
