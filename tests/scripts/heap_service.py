"""A service whose live memory is known: the thread "cache" fills a cache of 16 MiB (1024
blocks of 16 KiB) and then keeps replacing its oldest blocks, so that it keeps 16 MiB in
use while it allocates more and more. Says "cache full" once it is. Runs for the seconds
given (default 3)."""

import collections
import sys
import threading
import time

BLOCK = 16 * 1024
CACHE = collections.deque()


def keep_cache(until):
    full = False
    while time.monotonic() < until:
        CACHE.append(bytearray(BLOCK))
        if len(CACHE) > 1024:
            CACHE.popleft()
        if len(CACHE) == 1024:
            if not full:
                print("cache full", flush=True)
                full = True
            time.sleep(0.0005)


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
worker = threading.Thread(target=keep_cache, args=(time.monotonic() + seconds,), name="cache")
worker.start()
worker.join()
print("done")
