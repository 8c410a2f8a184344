"""A class nested in a class, with an annotation under a condition, as SQLAlchemy 2.1's
`orm/relationships.py` has it: RustPython's compiler refused the module (and this script)
with "cannot find '__conditional_annotations__' in parent vars". Exits 1 with a message on
the first difference from CPython; prints `ok` otherwise."""

import sys

from sqlalchemy_nested_annotations_module import RelationshipProperty


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


checks = {
    "imported module": (type(RelationshipProperty().comparator()).__name__, "Comparator"),
    "outer docstring": (RelationshipProperty.__doc__, "A docstring that must stay the class's."),
    "inner docstring": (RelationshipProperty.Comparator.__doc__, "The comparator's docstring."),
    "inner annotations": (RelationshipProperty.Comparator.__annotations__, {"entity": str}),
    "outer annotations": (RelationshipProperty.__annotations__, {}),
}
for what, (got, wanted) in checks.items():
    if got != wanted:
        fail(f"{what}: {got!r}, CPython gives {wanted!r}")

# The same shape in the script itself, the condition true this time.
FLAG = True


class Outer:
    class Inner:
        if FLAG:
            x: int
        y: str


if Outer.Inner.__annotations__ != {"x": int, "y": str}:
    fail(f"Outer.Inner.__annotations__ is {Outer.Inner.__annotations__}")
print("ok")
