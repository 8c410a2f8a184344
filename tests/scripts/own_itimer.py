# Arms ITIMER_PROF without a handler (SIGPROF would end it under plain CPython).
import signal
def busy(n):
    t = 0
    for i in range(n): t = (t + i) % 977
    return t
signal.setitimer(signal.ITIMER_PROF, 0.01, 0.01)
busy(2_000_000)
signal.setitimer(signal.ITIMER_PROF, 0)
print("survived")
