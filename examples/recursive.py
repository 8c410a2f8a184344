"""Deep recursion: a naive Fibonacci and a recursive tree walk.

The flamegraph is a tall, narrow tower; with `--max-depth` the outer frames are cut and the
stack is marked `[truncated]`.

    rpprof record -o recursive.svg examples/recursive.py
    rpprof record --max-depth 20 -o recursive.svg examples/recursive.py
"""

import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def build_tree(depth):
    if depth == 0:
        return []
    return [build_tree(depth - 1), build_tree(depth - 1)]


def count_leaves(tree):
    if not tree:
        return 1
    return sum(count_leaves(child) for child in tree)


def descend(depth):
    """A single chain `depth` frames deep that does a little work at the bottom."""
    if depth == 0:
        return fib(15)
    return descend(depth - 1)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 22
    print(f"fib({n}) = {fib(n)}")
    print(f"leaves of a depth-12 tree: {count_leaves(build_tree(12))}")
    print(f"fib(15) at depth 200: {descend(200)}")


if __name__ == "__main__":
    main()
