"""Forks a child every few milliseconds for argv[1] seconds: each child computes, then ends
with os._exit(7), which the parent checks. Prints `ready` first and `forks N ok` at the
end. A target for attaching while the program forks."""

import os
import sys
import time

print("ready", flush=True)
deadline = time.monotonic() + float(sys.argv[1])
forks = 0
while time.monotonic() < deadline:
    pid = os.fork()
    if pid == 0:
        total = 0
        for i in range(100_000):
            total += i
        os._exit(7)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7, status
    forks += 1
    total = 0
    for i in range(50_000):
        total += i  # parent line
print(f"forks {forks} ok", flush=True)
