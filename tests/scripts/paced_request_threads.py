"""A thread-per-request server's pace, without the network: COUNT threads, at most RATE a
second (fewer on a machine too busy for that pace: it takes longer, never starts fewer),
each allocating and freeing about KB kilobytes, each forgotten by its starter (as
`socketserver.ThreadingMixIn` does). At the end prints `threads N`.

Usage: paced_request_threads.py RATE COUNT KB
"""

import sys
import threading
import time


def handle(kb):
    blocks = [bytes(1000) for _ in range(kb)]
    return len(blocks)


def main():
    rate, total, kb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    started = time.monotonic()
    count = 0
    while count < total:
        if count < (time.monotonic() - started) * rate:
            thread = threading.Thread(target=handle, args=(kb,), daemon=True)
            thread.start()
            del thread
            count += 1
        else:
            time.sleep(0.002)
    while threading.active_count() > 1:
        time.sleep(0.01)
    print("threads", count, flush=True)


main()
