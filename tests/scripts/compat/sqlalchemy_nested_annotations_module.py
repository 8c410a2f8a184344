"""Imported by sqlalchemy_nested_annotations.py: SQLAlchemy 2.1's orm/relationships.py
shape, a comparator class nested in a property class, annotated under TYPE_CHECKING."""

from typing import TYPE_CHECKING


class RelationshipProperty:
    """A docstring that must stay the class's."""

    class Comparator:
        """The comparator's docstring."""

        __slots__ = ("prop",)
        if TYPE_CHECKING:
            prop: "RelationshipProperty"
        entity: str

        def __init__(self, prop):
            self.prop = prop

    def comparator(self):
        return self.Comparator(self)
