"""A small long-running service: a request loop fed by a producer thread.

A `producer` thread puts requests on a queue; two `handler` threads take them off, do a
little CPU work and answer into a results counter; the main thread reports once a second.
It runs until killed (or for the number of seconds given), which makes it the example for
`rpprof agent`.

    rpprof agent -- examples/service.py
    rpprof run examples/service.py 3      # stop after three seconds
"""

import queue
import sys
import threading
import time


def handle(request):
    """The 'business logic': hash the request a few hundred times."""
    digest = 0
    for i in range(300):
        digest = (digest * 131 + request + i) % 2_147_483_647
    return digest


def produce(requests, stop):
    n = 0
    while not stop.is_set():
        requests.put(n)
        n += 1
        time.sleep(0.002)


def serve(requests, stop, served):
    while not stop.is_set():
        try:
            request = requests.get(timeout=0.1)
        except queue.Empty:
            continue
        handle(request)
        with served["lock"]:
            served["count"] += 1


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else None
    requests = queue.Queue(maxsize=1000)
    stop = threading.Event()
    served = {"count": 0, "lock": threading.Lock()}
    threads = [threading.Thread(name="producer", target=produce, args=(requests, stop), daemon=True)]
    threads += [
        threading.Thread(name=f"handler-{i}", target=serve, args=(requests, stop, served), daemon=True)
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    try:
        while seconds is None or time.monotonic() - started < seconds:
            time.sleep(min(1.0, seconds or 1.0))
            print(f"served {served['count']} requests", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    print("service stopped")


if __name__ == "__main__":
    main()
