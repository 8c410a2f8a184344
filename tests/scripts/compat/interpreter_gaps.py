"""Interpreter gaps rpprof works around, each checked the way the program that found it
uses it. Exits 1 with a message on the first that fails; prints `ok` otherwise."""

import sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


# compile() from text: a keyword argument followed by a comment containing "for" (docutils).
source = "f(a=0 # for\n)\n"
try:
    code = compile(source, "<gap>", "exec")
except SyntaxError as err:
    fail(f"compile() refused valid source: {err}")
calls = []
exec(code, {"f": lambda a: calls.append(a)})
if calls != [0]:
    fail(f"the compiled code ran wrong: {calls}")
try:
    compile("f(a=0 for\n", "<gap>", "exec")
    fail("compile() accepted invalid source")
except SyntaxError:
    pass
# Future flags are still inherited from the calling code.
import __future__

flags = compile("x: undefined_name = 1", "<gap>", "exec", __future__.annotations.compiler_flag)
exec(flags, {})

# itertools.compress takes the data item before its selector (more-itertools).
import itertools

order = []


def items(tag):
    for i in range(3):
        order.append(f"{tag}{i}")
        yield i


if list(itertools.compress(items("d"), items("s"))) != [1, 2]:
    fail("compress selected the wrong items")
if order != ["d0", "s0", "d1", "s1", "d2", "s2"]:
    fail(f"compress pulled its iterators in this order: {order}")
shared = iter([10, 1, 20, 0, 30, 1])
if list(itertools.compress(shared, shared)) != [10, 30]:
    fail("compress over one shared iterator differs from CPython")

# zoneinfo finds the system's time zone database (Django).
import zoneinfo

if not zoneinfo.TZPATH:
    fail("zoneinfo.TZPATH is empty")
if str(zoneinfo.ZoneInfo("UTC")) != "UTC":
    fail("ZoneInfo('UTC') did not load")
# os.utime takes a file descriptor, and select.select finds fileno() through __getattr__
# (gunicorn's workers).
import os
import select
import socket
import tempfile

with tempfile.TemporaryFile() as handle:
    os.utime(handle.fileno(), (1_000_000, 2_000_000))
    if os.stat(handle.fileno()).st_mtime != 2_000_000:
        fail("os.utime(fd) did not set the time")
if os.utime not in os.supports_fd:
    fail("os.utime is not in os.supports_fd")


class Forwarding:
    def __init__(self, sock):
        self._sock = sock

    def __getattr__(self, name):
        return getattr(self._sock, name)


left, right = socket.socketpair()
right.send(b"x")
wrapped = Forwarding(left)
readable, writable, _ = select.select([wrapped], [wrapped], [], 1)
if readable != [wrapped] or writable != [wrapped]:
    fail(f"select answered {readable}, {writable}")
left.close()
right.close()
print("ok")
