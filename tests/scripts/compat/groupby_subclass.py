"""`itertools.groupby` subclassed, as CPython allows (answers are CPython 3.11's). Exits 1
with a message on the first difference; prints `ok` otherwise."""

import itertools
import sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


class CountingGroupBy(itertools.groupby):
    """Counts the groups it hands out."""

    def __init__(self, iterable, key=None):
        self.groups = 0

    def __next__(self):
        key, group = super().__next__()
        self.groups += 1
        return key, list(group)


grouped = CountingGroupBy("aabccc")
if list(grouped) != [("a", ["a", "a"]), ("b", ["b"]), ("c", ["c", "c", "c"])]:
    fail("the subclass grouped wrongly")
if grouped.groups != 3 or type(grouped) is not CountingGroupBy:
    fail(f"groups={grouped.groups}, type={type(grouped)}")
by_parity = CountingGroupBy([1, 3, 2, 4, 5], key=lambda n: n % 2)
if [k for k, _ in by_parity] != [1, 0, 1]:
    fail("key= is not passed on")
if not isinstance(by_parity, itertools.groupby):
    fail("not a groupby")
if [(k, list(g)) for k, g in itertools.groupby("xxy")] != [("x", ["x", "x"]), ("y", ["y"])]:
    fail("groupby itself changed")
print("ok")
