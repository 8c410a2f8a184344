"""`sqlite3` with `detect_types=PARSE_DECLTYPES`, as under CPython. Applied to `_sqlite3`
when the program first imports it (`_rpprof_compat` watches that import), before
`sqlite3.dbapi2` copies its names.

RustPython 0.6.0's `sqlite3` raises `MemoryError: string pointer is null` for any result
column without a declared type (an expression: `select 1`, `count(*)`) when
`PARSE_DECLTYPES` is set, after the statement ran: Django, which sets it, failed at every
connection. Here a connection is opened without `PARSE_DECLTYPES` (`PARSE_COLNAMES`, which
works, stays native), and each cursor learns its statement's declared types from
`_rpprof_columns(sql)`, a SQL function rpprof gives every connection (`compat_sqlite.rs`:
it prepares the statement, never runs it). Converters then run on each row before the row
factory, as CPython runs them: given the value's bytes, never given NULL, a column
converted by its name (`"x [type]"`) first.

The cost, on a connection that asks for `PARSE_DECLTYPES` only: one more statement the
first time a cursor runs a given SQL text (answers are kept per connection, forgotten when
SQL that changes the schema runs), and one Python call per fetched row when a column has a
converter. Every connection pays one Python call per `execute`."""

import _sqlite3
from _rpprof_compat_native import sqlite_columns_function

_DECLTYPES = _sqlite3.PARSE_DECLTYPES
_COLNAMES = _sqlite3.PARSE_COLNAMES
_NativeConnection = _sqlite3.Connection
_NativeCursor = _sqlite3.Cursor
_native_row_factory = _NativeCursor.row_factory
_MISSING = object()
_SCHEMA_CHANGES = ("create", "alter", "drop")


def _value_bytes(value):
    """The bytes CPython hands a converter: what `sqlite3_column_blob` gives for the value
    SQLite returned (a REAL as SQLite writes it, which only SQLite knows: asked of a
    private in-memory connection, so it costs a statement per REAL value converted)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, float):
        return _real_text(value)
    return str(value).encode()


_text_of_real = []


def _real_text(value):
    if not _text_of_real:
        _text_of_real.append(_NativeConnection(":memory:", check_same_thread=False))
    cursor = _NativeCursor(_text_of_real[0])
    return cursor.execute("select cast(? as text)", (value,)).fetchone()[0].encode()


def _declared_name(decltype):
    """The converter name of a declared type: up to its first blank or `(`."""
    for index, char in enumerate(decltype):
        if char == " " or char == "(":
            return decltype[:index]
    return decltype


class _Converting:
    """The row factory a converting cursor runs natively: converts the columns that have a
    converter, then calls the program's row factory, if any."""

    __slots__ = ("casts", "row_factory")

    def __init__(self, casts, row_factory):
        self.casts = casts
        self.row_factory = row_factory

    def __call__(self, cursor, row):
        row = tuple(
            value if cast is None or value is None else cast(_value_bytes(value))
            for cast, value in zip(self.casts, row)
        )
        if self.row_factory is None:
            return row
        return self.row_factory(cursor, row)


class Connection(_NativeConnection):
    __doc__ = _NativeConnection.__doc__

    def __init__(self, *args, **kwargs):
        if len(args) > 2:
            detect_types = args[2]
            args = args[:2] + (detect_types & ~_DECLTYPES,) + args[3:]
        else:
            detect_types = kwargs.get("detect_types", 0)
            if detect_types:
                kwargs["detect_types"] = detect_types & ~_DECLTYPES
        super().__init__(*args, **kwargs)
        self._rpprof_detect_types = detect_types
        self._rpprof_columns = {} if detect_types & _DECLTYPES else None

    def cursor(self, factory=_MISSING):
        return super().cursor(Cursor if factory is _MISSING else factory)

    def execute(self, sql, parameters=_MISSING, /):
        cursor = self.cursor()
        if parameters is _MISSING:
            return cursor.execute(sql)
        return cursor.execute(sql, parameters)

    def executemany(self, sql, parameters, /):
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script, /):
        if getattr(self, "_rpprof_columns", None):
            self._rpprof_columns.clear()
        return self.cursor().executescript(script)

    def _rpprof_casts(self, sql):
        """The converter of each result column of `sql`, None for one without; None when
        no column has one, or when this connection does not convert by declared type."""
        known = getattr(self, "_rpprof_columns", None)
        if known is None or not isinstance(sql, str):
            return None
        if sql.lstrip()[:6].lower().startswith(_SCHEMA_CHANGES):
            known.clear()
            return None
        columns = known.get(sql, _MISSING)
        if columns is _MISSING:
            columns = self._rpprof_describe(sql)
            known[sql] = columns
        if not columns:
            return None
        converters = _sqlite3.converters
        by_name = self._rpprof_detect_types & _COLNAMES
        casts = []
        for name, decltype in columns:
            if by_name and name.partition("[")[2].partition("]")[0].upper() in converters:
                casts.append(None)  # converted natively, by its name
            else:
                casts.append(converters.get(_declared_name(decltype).upper()) if decltype else None)
        return casts if any(casts) else None

    def _rpprof_describe(self, sql):
        """[(name, declared type)] of `sql`'s result columns, from `_rpprof_columns`."""
        try:
            cursor = _NativeCursor(self)  # without the connection's row factory
            row = cursor.execute("select _rpprof_columns(?)", (sql,)).fetchone()
        except _sqlite3.Error:
            return None
        answer = row[0] if row is not None else None
        if not answer:
            return None
        fields = answer.decode("utf-8", "surrogateescape").split("\0")
        return list(zip(fields[0::2], fields[1::2]))


class Cursor(_NativeCursor):
    __doc__ = _NativeCursor.__doc__

    def execute(self, sql, parameters=_MISSING, /):
        self._rpprof_convert(sql)
        if parameters is _MISSING:
            return super().execute(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql, parameters, /):
        self._rpprof_convert(sql)
        return super().executemany(sql, parameters)

    def executescript(self, script, /):
        columns = getattr(self.connection, "_rpprof_columns", None)
        if columns:
            columns.clear()
        return super().executescript(script)

    def _rpprof_convert(self, sql):
        connection = self.connection
        if getattr(connection, "_rpprof_columns", None) is None:
            return
        factory = _native_row_factory.__get__(self)
        if type(factory) is _Converting:
            factory = factory.row_factory
        casts = connection._rpprof_casts(sql)
        _native_row_factory.__set__(self, factory if casts is None else _Converting(casts, factory))

    @property
    def row_factory(self):
        factory = _native_row_factory.__get__(self)
        return factory.row_factory if type(factory) is _Converting else factory

    @row_factory.setter
    def row_factory(self, factory):
        current = _native_row_factory.__get__(self)
        if type(current) is _Converting:
            factory = _Converting(current.casts, factory)
        _native_row_factory.__set__(self, factory)


def connect(database, *args, factory=Connection, **kwargs):
    return factory(database, *args, **kwargs)


connect.__doc__ = _sqlite3.connect.__doc__


def patch(module):
    """Puts this module's `connect`, `Connection` and `Cursor` in `_sqlite3` (`module`), if
    every SQLite connection can have `_rpprof_columns`."""
    if not sqlite_columns_function():
        return
    for cls in (Connection, Cursor):
        cls.__module__ = "sqlite3"
    module.connect = connect
    module.Connection = Connection
    module.Cursor = Cursor
