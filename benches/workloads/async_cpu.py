"""CPU-bound work inside an asyncio task: the task `worker` runs a pure-Python loop at the
bottom of a DEPTH-deep call chain for ITERATIONS iterations, so that nearly every sample is
taken in a task (for the handler's cost of naming it).

    async_cpu.py [ITERATIONS] [DEPTH]
"""

import asyncio
import sys

from cpu_bound import descend


async def worker(iterations, depth):
    # asyncio's own frames (run, run_until_complete, _run_once, ...) are about ten deep.
    descend(max(depth - 10, 1), iterations)


async def main(iterations, depth):
    await asyncio.create_task(worker(iterations, depth), name="worker")


if __name__ == "__main__":
    ITERATIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000
    DEPTH = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    asyncio.run(main(ITERATIONS, DEPTH))
