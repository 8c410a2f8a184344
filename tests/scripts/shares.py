# Three functions share one inner loop with iteration counts 6:3:1 (CPU shares 60/30/10%).
import sys

SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 1


def spin(n):
    total = 0
    for i in range(n):
        total = (total + i * i) % 65521
    return total


def six():
    return spin(600_000 * SCALE)


def three():
    return spin(300_000 * SCALE)


def one():
    return spin(100_000 * SCALE)


for _ in range(2):
    six()
    three()
    one()
