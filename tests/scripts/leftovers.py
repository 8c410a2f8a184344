"""What RustPython 0.6.0 kept for ever and rpprof works around, measured directly:
threading's tables after many threads, and an lru_cache after many hits. Prints
`active_limbo_bytes N` and `lru_growth_kb N`."""

import functools
import sys
import threading

from resident import rss_kb


for _ in range(3000):
    thread = threading.Thread(target=len, args=((),))
    thread.start()
    thread.join()
print(
    "active_limbo_bytes",
    sys.getsizeof(threading._active) + sys.getsizeof(threading._limbo),
    flush=True,
)


@functools.lru_cache(maxsize=128)
def cached(key):
    return key * 2


for key in range(8):
    cached(key)
before = rss_kb()
for i in range(200_000):
    cached(i % 8)
print("lru_growth_kb", rss_kb() - before, flush=True)
