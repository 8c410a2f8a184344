# A chain of 300 calls that burns CPU at the bottom: deeper than --max-depth.
def down(depth):
    if depth == 0:
        total = 0
        for i in range(1_500_000):
            total = (total + i) % 7919
        return total
    return down(depth - 1)


down(300)
