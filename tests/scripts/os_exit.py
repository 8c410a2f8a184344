# Computes, then leaves with os._exit(5): no unwinding, no atexit.
import os
def busy(n):
    t = 0
    for i in range(n): t = (t + i) % 977
    return t
busy(2_000_000)
print("exiting", flush=True)
os._exit(5)
