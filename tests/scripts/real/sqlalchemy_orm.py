"""SQLAlchemy ORM on sqlite: 10,000 rows through declarative classes, a relationship,
queries with joins, grouping and ordering, updates and deletes. Prints results only
(no addresses, no timings), so the output can be compared with CPython's byte for byte."""
import sqlalchemy
from sqlalchemy import ForeignKey, String, create_engine, func, select, update, delete
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

ROWS = 10_000


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    books: Mapped[list["Book"]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    pages: Mapped[int]
    price: Mapped[float]
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books")

    def __repr__(self):
        return f"Book({self.id}, {self.title!r}, {self.pages}, {self.price:.2f})"


print("sqlalchemy", sqlalchemy.__version__)
engine = create_engine("sqlite://")
Base.metadata.create_all(engine)

with Session(engine) as session:
    authors = [Author(name=f"author {i:03d} é") for i in range(100)]
    session.add_all(authors)
    for i in range(ROWS):
        session.add(
            Book(
                title=f"book {i:05d}",
                pages=100 + (i * 37) % 900,
                price=round(5 + (i * 13) % 4000 / 100, 2),
                author=authors[i % 100],
            )
        )
    session.commit()

    print("books", session.scalar(select(func.count(Book.id))))
    print("authors", session.scalar(select(func.count(Author.id))))
    print("pages", session.scalar(select(func.sum(Book.pages))))
    rows = session.execute(
        select(Author.name, func.count(Book.id), func.max(Book.pages))
        .join(Book.author)
        .group_by(Author.id)
        .order_by(func.sum(Book.price).desc(), Author.name)
        .limit(5)
    ).all()
    for row in rows:
        print("top", tuple(row))
    for book in session.scalars(select(Book).where(Book.pages > 990).order_by(Book.id).limit(5)):
        print(book, book.author.name)
    session.execute(update(Book).where(Book.pages < 150).values(price=Book.price * 2))
    session.execute(delete(Book).where(Book.id % 7 == 0))
    session.commit()
    print("after", session.scalar(select(func.count(Book.id))),
          round(session.scalar(select(func.sum(Book.price))), 2))
    author = session.get(Author, 42)
    print("author 42", author.name, len(author.books), sorted(b.id for b in author.books)[:5])
    loaded = session.scalars(select(Book).order_by(Book.id)).all()
    print("loaded", len(loaded), loaded[0], loaded[-1])
