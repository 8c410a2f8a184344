"""Allocation-heavy benchmark workload: builds and drops lists, dicts and strings.

    alloc_heavy.py [ROUNDS]
"""

import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 60


def build(n):
    rows = [{"id": i, "name": f"row-{i}", "tags": [i % 7, i % 11]} for i in range(n)]
    index = {row["name"]: row for row in rows}
    return sum(len(key) for key in index)


if __name__ == "__main__":
    total = 0
    for _ in range(ROUNDS):
        total += build(20_000)
    print(total)
