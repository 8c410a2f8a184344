# Recursion 3000 deep that computes at the bottom.
import sys

sys.setrecursionlimit(10_000)


def down(n):
    if n == 0:
        t = 0
        for i in range(1_500_000):
            t = (t + i) % 7919
        return t
    return down(n - 1)


print(down(3000))
