"""Starts and joins many short threads, one at a time, and prints the process's RSS.
Each builds a dict of 200 entries and sums a range, as a request handler might.

Usage: thread_churn.py [THREADS] [WARMUP]. After WARMUP threads (which let the allocator
and every cache reach their working size) it prints `rss_after_warmup_kb N`; at the end
`rss_end_kb N` and `threads N`. A profiler that keeps something of every ended thread
shows it here as growth between the two. It also prints the bytes the process read
(`/proc/self/io` rchar) per thread started after the warm-up, `read_per_thread N`, beside the
size of its memory map, `maps_bytes N`: starting a thread should not read the map.
"""

import sys
import threading

from resident import rss_kb


def work(box):
    # What a request handler does: a dict or two, a loop over a range.
    table = {str(i): [i] for i in range(200)}
    box.append(sum(range(50)) + len(table))


def bytes_read():
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    warmup = int(sys.argv[2]) if len(sys.argv) > 2 else total // 5
    box = []
    for i in range(total):
        if i == warmup:
            print("rss_after_warmup_kb", rss_kb(), flush=True)
            read_at_warmup = bytes_read()
        thread = threading.Thread(target=work, args=(box,))
        thread.start()
        thread.join()
    read = bytes_read() - read_at_warmup
    with open("/proc/self/maps", "rb") as maps:
        print("maps_bytes", len(maps.read()), flush=True)
    print("read_per_thread", read // max(1, total - warmup), flush=True)
    print("rss_end_kb", rss_kb(), flush=True)
    print("threads", len(box), flush=True)


main()
