# Forks: the child computes and leaves with os._exit(3); the parent waits and computes.
import os, sys
def busy(n):
    t = 0
    for i in range(n): t = (t + i) % 977
    return t
busy(1_000_000)
pid = os.fork()
if pid == 0:
    busy(1_000_000)
    print("child done", flush=True)
    os._exit(3)
_, status = os.waitpid(pid, 0)
print("parent saw child exit", os.waitstatus_to_exitcode(status))
busy(1_000_000)
