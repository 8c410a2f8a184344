"""A thread-per-request server's accept loop, without the network: each thread is started
and forgotten (as `socketserver.ThreadingMixIn.process_request` does), so the last
reference to its `Thread` goes when the thread itself ends, on that thread. Prints the
process's RSS.

Usage: request_threads.py [THREADS [WARMUP [KB [AT_ONCE]]]]: each thread also allocates
and frees about KB kilobytes (default 0) while at most AT_ONCE (default 4) run. After
WARMUP threads it prints
`rss_after_warmup_kb N`; at the end `rss_end_kb N` and `threads N`.
"""

import sys
import threading

from resident import rss_kb


def handle(started, box, kb):
    # Wait until the starter has let go of this thread's `Thread`.
    started.wait()
    table = {str(i): [i] for i in range(20)}
    blocks = [bytes(1000) for _ in range(kb)]
    box.append(len(table) + len(blocks))


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    warmup = int(sys.argv[2]) if len(sys.argv) > 2 else total // 5
    kb = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    at_once = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    box = []
    for i in range(total):
        if i == warmup:
            print("rss_after_warmup_kb", rss_kb(), flush=True)
        started = threading.Event()
        thread = threading.Thread(target=handle, args=(started, box, kb), daemon=True)
        thread.start()
        del thread
        started.set()
        # At most a few threads at once, as under a modest load.
        while threading.active_count() > at_once:
            threading.Event().wait(0.0002)
    while threading.active_count() > 1:
        threading.Event().wait(0.001)
    print("rss_end_kb", rss_kb(), flush=True)
    print("threads", len(box), flush=True)


main()
