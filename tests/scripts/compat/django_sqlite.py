"""sqlite3 with detect_types as Django opens its connections (PARSE_DECLTYPES |
PARSE_COLNAMES, converters registered by declared type), checked against what CPython 3.11
answers. Exits 1 with a message on the first difference; prints `ok` otherwise."""

import datetime
import sqlite3
import sys


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def expect(what, got, wanted):
    if got != wanted:
        fail(f"{what}: {got!r}, CPython gives {wanted!r}")


# The one-line reproduction: an expression column has no declared type.
plain = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES)
expect("select 1", plain.execute("select 1").fetchall(), [(1,)])

# Django's converters (django/db/backends/sqlite3/base.py registers these).
sqlite3.register_converter("bool", b"1".__eq__)
sqlite3.register_converter("datetime", lambda b: datetime.datetime.fromisoformat(b.decode()))
sqlite3.register_converter("date", lambda b: datetime.date.fromisoformat(b.decode()))
sqlite3.register_converter("seen", lambda b: ("seen", b))


class DjangoCursor(sqlite3.Cursor):
    """Like Django's SQLiteCursorWrapper: a subclass that rewrites the query first."""

    def execute(self, query, params=None):
        query = query.replace("%s", "?")
        if params is None:
            return super().execute(query)
        return super().execute(query, params)


db = sqlite3.connect(
    ":memory:",
    detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
    check_same_thread=False,
)
db.execute(
    'create table t (id integer primary key, flag bool, at datetime, day date, '
    'price decimal(10, 2), note varchar(20), raw blob, ratio real, tag "seen thing")'
)
db.execute(
    "insert into t values (1, 1, '2024-05-06 07:08:09', '2024-05-06', 1.5, 'x', x'00ff', 0.1, 7)"
)
db.execute("insert into t (id, flag) values (2, 0)")
cursor = db.cursor(factory=DjangoCursor)
cursor.execute("select flag, at, day, price, note, raw, tag, ratio from t where id = %s", (1,))
expect(
    "declared types",
    cursor.fetchone(),
    (
        True,
        datetime.datetime(2024, 5, 6, 7, 8, 9),
        datetime.date(2024, 5, 6),
        1.5,
        "x",
        b"\x00\xff",
        ("seen", b"7"),
        0.1,
    ),
)
expect("NULL is not converted", db.execute("select at from t where id = 2").fetchone(), (None,))
expect("expression columns", db.execute("select count(*), max(flag) from t").fetchone(), (2, 1))
expect(
    "column names first",
    db.execute('select flag as "f [seen]", flag from t where id = 1').fetchone(),
    (("seen", b"1"), True),
)
expect(
    "description",
    [c[0] for c in db.execute('select flag as "f [seen]", at from t').description],
    ["f", "at"],
)
expect("fetchmany", db.execute("select flag from t order by id").fetchmany(5), [(True,), (False,)])
expect("iteration", [r for r in db.execute("select flag from t order by id")], [(True,), (False,)])

# Converters run before the row factory, which sees the converted row.
db.row_factory = sqlite3.Row
row = db.execute("select flag, at from t where id = 1").fetchone()
expect("sqlite3.Row", (row["flag"], row.keys()), (True, ["flag", "at"]))
expect("the row factory reads as set", db.cursor().row_factory, sqlite3.Row)
db.row_factory = None
named = db.cursor()
named.row_factory = lambda cur, r: dict(zip([c[0] for c in cur.description], r))
expect("a cursor's row factory", named.execute("select flag from t where id = 2").fetchall(), [{"flag": False}])

# A table made after a statement was seen: the declared types are looked up again.
db.execute("create table u (flag bool)")
db.execute("insert into u values (1)")
expect("after create table", db.execute("select * from u").fetchall(), [(True,)])
db.execute("drop table u")
db.execute("create table u (flag integer)")
db.execute("insert into u values (1)")
expect("after the table changed", db.execute("select * from u").fetchall(), [(1,)])

# A converter gets a REAL value as SQLite writes it, with its decimal point.
db.execute("create table m (a measure real, b measure real, c measure)")
sqlite3.register_converter("measure", bytes)
db.execute("insert into m values (2.0, 1.5, 3)")
expect("REAL and INTEGER bytes", db.execute("select * from m").fetchone(), (b"2.0", b"1.5", b"3"))  # c: NUMERIC

# RETURNING runs the statement once.
expect("returning", db.execute("insert into t (id, flag) values (3, 1) returning flag").fetchall(), [(True,)])
expect("rows", db.execute("select count(*) from t").fetchone(), (3,))
# Errors are SQLite's own.
try:
    db.execute("select nope from t")
    fail("a bad column was accepted")
except sqlite3.OperationalError as err:
    expect("error", str(err), "no such column: nope")
print("ok")
