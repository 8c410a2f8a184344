"""`cpu_bound.py`'s loop (one thread, at stack depth DEPTH) run inside a labels block with
two labels, or without one: for the handler time with a label set active.

    labelled_cpu_bound.py ITERATIONS DEPTH on|off
"""

import sys

import rpprof
from cpu_bound import work

ITERATIONS = int(sys.argv[1])
DEPTH = int(sys.argv[2])
if sys.argv[3] == "on":
    with rpprof.labels(endpoint="/bench", tenant="acme"):
        work(ITERATIONS, DEPTH)
else:
    work(ITERATIONS, DEPTH)
