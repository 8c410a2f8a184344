# Installs its own SIGPROF handler and ITIMER_PROF timer part-way through.
import signal, time
def busy(n):
    t = 0
    for i in range(n): t = (t + i) % 977
    return t
busy(1_500_000)
hits = []
signal.signal(signal.SIGPROF, lambda s, f: hits.append(1))
signal.setitimer(signal.ITIMER_PROF, 0.01, 0.01)
busy(1_500_000)
signal.setitimer(signal.ITIMER_PROF, 0)
print("own handler ran", len(hits) > 0)
