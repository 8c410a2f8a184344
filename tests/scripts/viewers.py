"""What every viewer is checked on (tests/viewers.rs): module-level code, a lambda and a
generator expression at module level, a thread pool, and four busy threads.

Phases, in this order, so a time-ordered view shows them in this order:
1. `<module>` computes at module level, in a generator expression and a lambda;
2. a pool of five workers (`ThreadPoolExecutor`) runs short tasks;
3. four threads named busy-1..busy-4 compute for SECONDS each, side by side.
"""

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0

# 1. Module level: plain code, a generator expression, a lambda.
started = time.monotonic()
total = 0
while time.monotonic() - started < SECONDS * 0.3:
    total += sum(i * i for i in range(2_000))
square_all = lambda n: [i * i for i in range(n)]  # noqa: E731
started = time.monotonic()
while time.monotonic() - started < SECONDS * 0.3:
    square_all(2_000)


# 2. A pool.
def pool_task(n):
    return sum(i * 3 for i in range(n))


with ThreadPoolExecutor(max_workers=5) as pool:
    list(pool.map(pool_task, [20_000] * 100))


# 3. Four busy threads.
def busy(deadline):
    count = 0
    while time.monotonic() < deadline:
        count += sum(range(1_000))
    return count


deadline = time.monotonic() + SECONDS
threads = [
    threading.Thread(name=f"busy-{i}", target=busy, args=(deadline,)) for i in range(1, 5)
]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("done", total > 0)
