"""Method resolution order where bases share bases, as SQLAlchemy's class hierarchies have
them, checked against CPython 3.11's C3 order. Exits 1 with a message on the first
difference; prints `ok` otherwise."""

import sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def names(cls):
    return [c.__name__ for c in cls.__mro__]


class Base:
    def _copy_internals(self):
        return "Base"


class Immutable:
    def _copy_internals(self):
        return "Immutable"

    def __repr__(self):
        return "Immutable()"

    def __eq__(self, other):
        return "Immutable.__eq__"

    __hash__ = object.__hash__

    def __getattr__(self, name):
        return f"Immutable.{name}"

    def __call__(self):
        return "Immutable()()"

    def __len__(self):
        return 7


class Clause(Base):
    pass


# A later base (Base) is also a base of an earlier one (Clause): C3 puts Immutable first.
class Element(Clause, Immutable, Base):
    pass


if names(Element) != ["Element", "Clause", "Immutable", "Base", "object"]:
    fail(f"Element.__mro__ is {names(Element)}")
element = Element()
if element._copy_internals() != "Immutable":
    fail(f"_copy_internals resolved on {element._copy_internals()}")
# The slots follow the order too.
checks = {
    "repr": (repr(element), "Immutable()"),
    "==": (element == 1, "Immutable.__eq__"),
    "__getattr__": (element.missing, "Immutable.missing"),
    "call": (element(), "Immutable()()"),
    "len": (len(element), 7),
}
for what, (got, wanted) in checks.items():
    if got != wanted:
        fail(f"{what}: {got!r}, CPython gives {wanted!r}")


# Built on such a class, a class that CPython accepts (SQLAlchemy 2.1's import failed here:
# RustPython's order for Element made this one inconsistent).
class Generative(Immutable):
    pass


class Select(Element, Generative, Clause):
    pass


if names(Select) != ["Select", "Element", "Generative", "Clause", "Immutable", "Base", "object"]:
    fail(f"Select.__mro__ is {names(Select)}")


# super() follows the corrected order.
class Root:
    def who(self):
        return ["Root"]


class Left(Root):
    def who(self):
        return ["Left"] + super().who()


class Right(Root):
    def who(self):
        return ["Right"] + super().who()


class Leaf(Left, Right, Root):
    def who(self):
        return ["Leaf"] + super().who()


if Leaf().who() != ["Leaf", "Left", "Right", "Root"]:
    fail(f"super() chain: {Leaf().who()}")


# A metaclass that is not type gets the same order.
class Meta(type):
    pass


class WithMeta(Clause, Immutable, Base, metaclass=Meta):
    pass


if names(WithMeta) != ["WithMeta", "Clause", "Immutable", "Base", "object"]:
    fail(f"WithMeta.__mro__ is {names(WithMeta)}")
# A class made by calling type() (SQLAlchemy makes some so), and what a base's
# __init_subclass__ sees after its super() call: corrected from object.__init_subclass__,
# which the first class statement that needed correcting (Element) put in place.
Dynamic = type("Dynamic", (Clause, Immutable, Base), {})
if names(Dynamic) != ["Dynamic", "Clause", "Immutable", "Base", "object"]:
    fail(f"Dynamic.__mro__ is {names(Dynamic)}")
if repr(Dynamic()) != "Immutable()":
    fail(f"Dynamic's repr slot: {Dynamic()!r}")
seen = []


class Registry:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        seen.append(names(cls))


class Registered(Registry, Clause, Immutable, Base):
    pass


if seen != [["Registered", "Registry", "Clause", "Immutable", "Base", "object"]]:
    fail(f"__init_subclass__ saw {seen}")
try:
    type("Keywords", (), {}, flag=True)
    fail("object.__init_subclass__ took a keyword argument")
except TypeError as err:
    if str(err) != "Keywords.__init_subclass__() takes no keyword arguments":
        fail(f"keyword argument refused with {err}")
print("ok")
