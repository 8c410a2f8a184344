"""asyncio with many short task steps: TASKS tasks each take STEPS steps of a little work
(`asyncio.sleep(0)` between them), plus as many tasks that only wait, for the cost of
`--async` (the event-loop hook and the waiting-task snapshots).

    async_steps.py [TASKS] [STEPS]
"""

import asyncio
import sys

TASKS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 300


def work():
    total = 0
    for i in range(200):
        total += i * i
    return total


async def stepper():
    for _ in range(STEPS):
        work()
        await asyncio.sleep(0)


async def waiter(event):
    await event.wait()


async def main():
    event = asyncio.Event()
    waiting = [asyncio.create_task(waiter(event)) for _ in range(TASKS)]
    await asyncio.gather(*(asyncio.create_task(stepper()) for _ in range(TASKS)))
    event.set()
    await asyncio.gather(*waiting)


asyncio.run(main())
