"""A service whose live memory is known: the thread "cache" fills a cache of 16 MiB (1024
blocks of 16 KiB), replaces each block once (so that it has allocated 32 MiB and keeps 16),
says "cache full", and then keeps its cache unchanged until the seconds given (default 3)
have passed.

The cache stops changing once full because a heap profile counts a block in use once the
drain thread has moved its sample on, while a free takes it out at once: with blocks
replaced at full speed on a loaded machine, the newest blocks were not yet counted while
the ones they replaced were already gone (13 MiB in use measured instead of 16)."""

import collections
import sys
import threading
import time

BLOCK = 16 * 1024
CACHE = collections.deque()


def keep_cache(until):
    for _ in range(2 * 1024):
        CACHE.append(bytearray(BLOCK))
        if len(CACHE) > 1024:
            CACHE.popleft()
    print("cache full", flush=True)
    while time.monotonic() < until:
        time.sleep(0.05)


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
worker = threading.Thread(target=keep_cache, args=(time.monotonic() + seconds,), name="cache")
worker.start()
worker.join()
print("done")
