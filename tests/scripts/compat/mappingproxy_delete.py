"""Changing a read-only mapping (`types.MappingProxyType`, attrs' `Attribute.metadata`)
fails with CPython's messages: "does not support item deletion" for `del proxy[key]`,
"doesn't" only for an integer key, "does not support item assignment" for
`proxy[key] = value`. Exits 1 with a message on the first difference; prints `ok`
otherwise."""

import operator
import sys
import types


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def refusal(change):
    try:
        change()
    except TypeError as err:
        return str(err)
    fail(f"{change} did not raise")


data = {"x": 42, 0: "zero"}
proxy = types.MappingProxyType(data)


def delete(key):
    def change():
        del proxy[key]

    return change


def assign(key):
    def change():
        proxy[key] = 23

    return change


expected = [
    (delete("x"), "'mappingproxy' object does not support item deletion"),
    (delete("missing"), "'mappingproxy' object does not support item deletion"),
    (delete(0), "'mappingproxy' object doesn't support item deletion"),
    (delete(True), "'mappingproxy' object doesn't support item deletion"),
    (lambda: operator.delitem(proxy, "x"), "'mappingproxy' object does not support item deletion"),
    (assign("z"), "'mappingproxy' object does not support item assignment"),
    (assign(0), "'mappingproxy' object does not support item assignment"),
    (lambda: operator.setitem(proxy, "x", 1), "'mappingproxy' object does not support item assignment"),
]
for change, message in expected:
    got = refusal(change)
    if got != message:
        fail(f"{got!r}, CPython gives {message!r}")
if data != {"x": 42, 0: "zero"} or dict(proxy) != data or proxy["x"] != 42:
    fail(f"the mapping changed: {data}")
if "__delitem__" in dir(proxy) or hasattr(proxy, "__setitem__"):
    fail("mappingproxy gained __delitem__ or __setitem__")
print("ok")
