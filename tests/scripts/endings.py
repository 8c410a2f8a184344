# Burns some CPU, then ends the way argv[1] says: raise, exit, or wait for Ctrl-C.
import sys
import time


def work():
    x = 0
    for i in range(1_500_000):
        x = (x + i) % 7919
    return x


work()
how = sys.argv[1] if len(sys.argv) > 1 else "normal"
if how == "raise":
    raise RuntimeError("the script failed")
if how == "exit":
    sys.exit(4)
if how == "wait":
    print("ready", flush=True)
    while True:
        work()
