"""Three named asyncio tasks on one event loop doing CPU work in the ratio 3:2:1.

Each task runs the same steps, yielding to the loop (`asyncio.sleep(0)`) between them;
a step of `heavy` burns three times, `medium` twice, `light` once a step's size. Step sizes
vary (the same sizes for every task, each task in its own order), so the steps do not fall
into lockstep with the sampling period."""

import asyncio
import random
import sys

UNIT = 4000


def burn(units):
    total = 0
    for i in range(units * UNIT):
        total += i * i
    return total


async def worker(weight, sizes):
    for size in sizes:
        burn(weight * size)
        await asyncio.sleep(0)


async def main(steps):
    sizes = [random.Random(step).randint(1, 9) for step in range(steps)]
    orders = [random.Random(seed).sample(sizes, len(sizes)) for seed in (1, 2, 3)]
    await asyncio.gather(
        asyncio.create_task(worker(3, orders[0]), name="heavy"),
        asyncio.create_task(worker(2, orders[1]), name="medium"),
        asyncio.create_task(worker(1, orders[2]), name="light"),
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 150))
