"""Instantiating an abstract class fails with the message of CPython 3.12 and later (the
Python version rpprof reports): "Can't instantiate abstract class X without an
implementation for abstract method(s) 'a', 'b'", names sorted. Exits 1 with a message on
the first difference; prints `ok` otherwise."""

import abc
import sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def message(cls, *args):
    try:
        cls(*args)
    except TypeError as err:
        return str(err)
    fail(f"{cls.__name__}() did not raise")


class Shape(abc.ABC):
    @abc.abstractmethod
    def perimeter(self): ...

    @abc.abstractmethod
    def area(self): ...

    @abc.abstractmethod
    def bounds(self): ...


class Square(Shape):
    def area(self):
        return 4

    def bounds(self):
        return (0, 0, 2, 2)


class Concrete(Square):
    def __init__(self, side):
        if side < 0:
            raise TypeError("a negative side")
        self.side = side

    def perimeter(self):
        return 4 * self.side


expected = {
    "Shape": "Can't instantiate abstract class Shape without an implementation for abstract "
    "methods 'area', 'bounds', 'perimeter'",
    "Square": "Can't instantiate abstract class Square without an implementation for abstract "
    "method 'perimeter'",
}
for cls in (Shape, Square):
    got = message(cls)
    if got != expected[cls.__name__]:
        fail(f"{got!r}, CPython gives {expected[cls.__name__]!r}")
if Concrete(3).perimeter() != 12:
    fail("a concrete class did not instantiate")
if message(Concrete, -1) != "a negative side":
    fail("a TypeError raised by __init__ was changed")
if message(Concrete) != "Concrete.__init__() missing 1 required positional argument: 'side'":
    fail(f"argument errors changed: {message(Concrete)!r}")
if "__call__" in abc.ABCMeta.__dict__:
    fail("ABCMeta.__dict__ gained __call__")
print("ok")
