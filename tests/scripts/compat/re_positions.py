"""Compiled patterns given a negative `pos` or `endpos`: CPython counts it as 0 (the
answers below are CPython 3.11's). Exits 1 with a message on the first difference; prints
`ok` otherwise."""

import re
import sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def span(match):
    return None if match is None else match.span()


digits = re.compile(r"\d+")
cases = {
    "match": (span(digits.match("abc123", -1)), None),
    "search": (span(digits.search("abc123", -1)), (3, 6)),
    "search pos=": (span(digits.search("abc123", pos=-5)), (3, 6)),
    "fullmatch": (span(digits.fullmatch("123", -1)), (0, 3)),
    "finditer": ([m.span() for m in digits.finditer("a1b2", -3)], [(1, 2), (3, 4)]),
    "findall endpos": (digits.findall("a1b2", -1, 3), ["1"]),
    "findall endpos=": (digits.findall("a1b2", pos=0, endpos=-1), []),
    "scanner": (span(digits.scanner("a12", -2).search()), (1, 3)),
    "positive positions": (span(digits.search("abc123", 0, 5)), (3, 5)),
}
for what, (got, wanted) in cases.items():
    if got != wanted:
        fail(f"{what}: {got!r}, CPython gives {wanted!r}")
try:
    digits.match("abc", "x")
    fail("a position that is not an int was accepted")
except TypeError:
    pass
print("ok")
