"""Thread churn for the soak benchmark (soak.py threads): starts and joins N threads, BATCH
at a time, each doing a little work (sum(range(100)), or with WORK > 0 also building a dict
of WORK small lists), and prints the process's resident memory and OS
thread count (from /proc/self/status) every EVERY threads, to show whether per-thread
state (the profiler's timers, rings, registry entries) is freed when threads end.

    python3 thread_churn.py [N [BATCH [EVERY [WORK]]]]     # defaults 100000 8 10000 0

Prints lines `threads DONE rss_kib KIB os_threads T elapsed_s S`.
"""

import sys
import threading
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
BATCH = int(sys.argv[2]) if len(sys.argv) > 2 else 8
EVERY = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
WORK = int(sys.argv[4]) if len(sys.argv) > 4 else 0


def status():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return int(fields["VmRSS"][0]), int(fields["Threads"][0])


def work():
    sum(range(100))
    if WORK:
        table = {str(i): [i] * 10 for i in range(WORK)}
        "".join(table)


def main():
    start = time.monotonic()
    done = 0
    while done < N:
        threads = [threading.Thread(target=work) for _ in range(min(BATCH, N - done))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        before = done
        done += len(threads)
        if done // EVERY > before // EVERY or done == N:
            rss, os_threads = status()
            print(f"threads {done} rss_kib {rss} os_threads {os_threads} "
                  f"elapsed_s {time.monotonic() - start:.2f}", flush=True)


if __name__ == "__main__":
    main()
