"""asyncio tasks that wait, for wall mode with --async: one in asyncio.sleep, one on a
Queue, one on an Event, one left unnamed (asyncio names it Task-N), and a second thread
running an event loop of its own with a task that sleeps. They all wait about
`seconds` (argv[1], 1.5 by default), then finish."""

import asyncio
import sys
import threading

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5


async def napper():
    await asyncio.sleep(SECONDS)


async def consumer(queue):
    return await queue.get()


async def waiter(event):
    await event.wait()


async def nameless():
    await asyncio.sleep(SECONDS)


async def main():
    queue = asyncio.Queue()
    event = asyncio.Event()
    tasks = [
        asyncio.create_task(napper(), name="sleeper"),
        asyncio.create_task(consumer(queue), name="consumer"),
        asyncio.create_task(waiter(event), name="waiter"),
        asyncio.create_task(nameless()),
    ]
    await asyncio.sleep(SECONDS)
    queue.put_nowait("item")
    event.set()
    await asyncio.gather(*tasks)


async def pinger():
    await asyncio.sleep(SECONDS)


async def side_main():
    await asyncio.create_task(pinger(), name="pinger")


def side_loop():
    asyncio.run(side_main())


side = threading.Thread(target=side_loop, name="side-loop")
side.start()
asyncio.run(main())
side.join()
print("done")
