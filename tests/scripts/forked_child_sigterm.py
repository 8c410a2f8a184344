# A forked child that gets SIGTERM dies of it (as under python), and the parent carries on.
import os
import signal
import time

pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
time.sleep(0.2)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print("child ended by signal", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None, flush=True)
time.sleep(0.3)
print("parent carried on", flush=True)
