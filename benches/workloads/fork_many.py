"""Forks N children one after another, each ending at once in os._exit (the `subprocesses`
benchmark's per-fork cost). Usage: fork_many.py N."""

import os
import sys

for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
