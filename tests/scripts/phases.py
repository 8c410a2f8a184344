"""Work in two phases on the main thread, first_phase() then second_phase(), each for
argv[1] seconds (default 0.4), while a `sleeper` thread sleeps throughout: a timeline shows
the phases one after the other and the sleeper idle."""

import sys
import threading
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.4
stop = threading.Event()


def burn(until):
    total = 0
    while time.monotonic() < until:
        for i in range(500):
            total += i
    return total


def first_phase():
    return burn(time.monotonic() + seconds)


def second_phase():
    return burn(time.monotonic() + seconds)


def sleep_on():
    while not stop.is_set():
        time.sleep(0.05)


sleeper = threading.Thread(name="sleeper", target=sleep_on)
sleeper.start()
first_phase()
second_phase()
stop.set()
sleeper.join()
