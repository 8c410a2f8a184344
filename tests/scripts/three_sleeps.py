"""Three waits in a row in one thread, each in its own function, with GAP seconds of work
between them (argv[1], default 0: none). Wall mode should give each a third of the time.
argv[2] picks the wait: `sleep` (time.sleep, default) or `select` (select.select on a pipe
that never becomes readable)."""

import os
import select
import sys
import time

GAP = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
KIND = sys.argv[2] if len(sys.argv) > 2 else "sleep"
WAIT = 0.5
never_r, never_w = os.pipe()


def wait():
    if KIND == "select":
        select.select([never_r], [], [], WAIT)
    else:
        time.sleep(WAIT)


def work():
    end = time.perf_counter() + GAP
    while time.perf_counter() < end:
        pass


def sleep_a():
    wait()


def sleep_b():
    wait()


def sleep_c():
    wait()


sleep_a()
work()
sleep_b()
work()
sleep_c()
print("done")
