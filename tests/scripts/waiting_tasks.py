"""TASKS asyncio tasks (argv[1], default 50) that each wait SECONDS (argv[2], default 1) in
asyncio.sleep, all at once on the main thread: TASKS x SECONDS task-seconds of waiting in
SECONDS of the thread's wall time."""

import asyncio
import sys

TASKS = int(sys.argv[1]) if len(sys.argv) > 1 else 50
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0


async def nap():
    await asyncio.sleep(SECONDS)


async def main():
    await asyncio.gather(*(nap() for _ in range(TASKS)))


asyncio.run(main())
print("done")
