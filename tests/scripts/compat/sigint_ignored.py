"""Run with SIGINT ignored from the start (`nohup`, `trap '' INT`): CPython keeps ignoring
it, and says so. Exits 1 with a message on a difference; prints `ok` otherwise (a
KeyboardInterrupt would end it first)."""

import os
import signal
import sys
import time

if signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
    print("FAIL: signal.getsignal(SIGINT) is", signal.getsignal(signal.SIGINT))
    sys.exit(1)
os.kill(os.getpid(), signal.SIGINT)
time.sleep(0.1)
print("ok")
