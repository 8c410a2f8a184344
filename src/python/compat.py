"""Workarounds for gaps in RustPython 0.6.0 that real programs run into, applied by the
embedding before the program runs (`src/python/compat.rs` calls `install`).

Each workaround says what the interpreter does, what it breaks, and what the workaround
costs. They are rpprof's own code, written against the interpreter's observable behaviour;
each one has a test on a script that fails without it (`tests/interpreter_compat.rs`;
`interpreter_leftovers.rs` for lru_cache, `user_packages.rs` for the C-extension finder,
which is not a gap but a limit said plainly)."""

import sys as _sys

_FunctionType = type(lambda: None)


def install():
    """Applies the workarounds that Python code can apply by itself. (Those that need a
    builtin type changed, or no Python frame, are made by `compat.rs`.)"""
    _lru_caches_that_do_not_grow()
    _compress_in_cpython_order()
    _zoneinfo_finds_the_system_database()
    _utime_takes_a_file_descriptor()
    _sys.meta_path.append(_CExtensionFinder())
    _sys.meta_path.insert(
        0,
        _PatchOnImport(
            {
                "_sqlite3": _sqlite_converts_by_declared_type,
                "re": _patterns_take_negative_positions,
                "ssl": _tls_contexts_start_at_tls12,
            }
        ),
    )


class _PatchOnImport:
    """First on `sys.meta_path`: patches a module the first time the program imports it,
    so that a workaround for a module the program may never use costs nothing at start-up
    (one dictionary look-up per import). Finds the module with the finders after it, and
    runs the patch right after the module's own code: on import, not when only a spec is
    asked for (`importlib.util.find_spec`)."""

    def __init__(self, patches):
        self.patches = patches

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.patches:
            return None
        for finder in _sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _PatchingLoader(spec.loader, self.patches)
                return spec
        return None


class _PatchingLoader:
    """A module's own loader, then the module's patch (again on `importlib.reload`). The
    module sees its own loader."""

    def __init__(self, loader, patches):
        self.loader = loader
        self.patches = patches

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        patch = self.patches.get(module.__name__)
        if patch is not None:
            patch(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def _patterns_take_negative_positions(re):
    """RustPython 0.6.0's compiled patterns refuse a negative `pos` or `endpos`, which
    CPython counts as 0 (`compat_re.rs`)."""
    from _rpprof_compat_native import clamp_pattern_positions

    clamp_pattern_positions(re.Pattern)


def _tls_contexts_start_at_tls12(ssl):
    """RustPython 0.6.0's TLS contexts say `minimum_version` is `MINIMUM_SUPPORTED` (-2);
    CPython's say `TLSv1_2` (OpenSSL's floor), and code that checks or raises the floor reads
    it. rustls, which rpprof's `ssl` runs on, speaks no version below TLS 1.2 anyway: each new
    context gets that floor set, so what it says is what it does. The cost: two attribute
    accesses per context made."""
    new = ssl.SSLContext.__new__
    unset, floor = ssl.TLSVersion.MINIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_2

    def __new__(cls, protocol=None, *args, **kwargs):
        context = new(cls, protocol, *args, **kwargs)
        try:
            if context.minimum_version == unset:
                context.minimum_version = floor
        except (AttributeError, ValueError, ssl.SSLError):
            pass  # a context whose protocol fixes its versions
        return context

    __new__.__qualname__ = "SSLContext.__new__"
    ssl.SSLContext.__new__ = staticmethod(__new__)


def _sqlite_converts_by_declared_type(module):
    """`sqlite3` with `PARSE_DECLTYPES` (Django): see `compat_sqlite.py`."""
    import _rpprof_compat_sqlite

    _rpprof_compat_sqlite.patch(module)


def _utime_takes_a_file_descriptor():
    """RustPython 0.6.0's `os.utime` refuses a file descriptor, which CPython takes on Linux
    (and lists in `os.supports_fd`); gunicorn's workers touch their heartbeat file by
    descriptor and crashed in a loop. A descriptor becomes its `/proc/self/fd/N` path, which
    names the same open file. The cost: one Python call per `utime`."""
    import os

    native = os.utime

    def utime(path, times=None, *, ns=None, dir_fd=None, follow_symlinks=True):
        kwargs = {}
        if isinstance(path, int) and not isinstance(path, bool):
            if dir_fd is not None or not follow_symlinks:
                raise ValueError(
                    "utime: can't specify dir_fd or follow_symlinks with a file descriptor"
                )
            path = f"/proc/self/fd/{path}"
        if ns is not None:
            kwargs["ns"] = ns
        if dir_fd is not None:
            kwargs["dir_fd"] = dir_fd
        if not follow_symlinks:
            kwargs["follow_symlinks"] = False
        return native(path, times, **kwargs)

    utime.__doc__ = native.__doc__
    os.utime = utime
    os.supports_fd.add(utime)


def _compress_in_cpython_order():
    """RustPython 0.6.0's `itertools.compress` takes the next selector before the next data
    item; CPython takes the data item first, and code that shares one iterator between
    both (more-itertools, 52 of its 56 failures) gets other results. The same pairing from
    `zip` (data first), `filter` and `map`: all native, so still fast. The cost: the
    result is a `map`, not an `itertools.compress` object."""
    import itertools
    from _operator import itemgetter  # operator itself is Python: 0.9 ms at start-up

    first, second = itemgetter(0), itemgetter(1)

    def compress(data, selectors):
        return map(first, filter(second, zip(data, selectors)))

    compress.__doc__ = itertools.compress.__doc__
    itertools.compress = compress


def _zoneinfo_finds_the_system_database():
    """RustPython 0.6.0's build configuration has no `TZPATH`, so `zoneinfo.TZPATH` is
    empty and `ZoneInfo("UTC")` fails (and with it every Django page that uses time zones).
    CPython's default is put where `zoneinfo` looks for it (`sysconfig`'s variables);
    `PYTHONTZPATH` still comes first."""
    import _sysconfigdata

    _sysconfigdata.build_time_vars.setdefault(
        "TZPATH", "/usr/share/zoneinfo:/usr/lib/zoneinfo:/usr/share/lib/zoneinfo:/etc/zoneinfo"
    )


def _lru_caches_that_do_not_grow():
    """Makes `functools.lru_cache` use functools' own pure-Python implementation instead of
    RustPython 0.6.0's native one.

    The native one refreshes a key on every hit by deleting it from its dict and inserting
    it again. RustPython's dict reuses the deleted slot without counting it as filled, so it
    never resizes, while each insertion appends to its entry storage: every cache hit kept
    32 bytes for ever (288 bytes a request in a Flask app). The pure-Python version
    moves a linked-list node on a hit and leaves its dict alone. functools defines it, then
    replaces it with the native one when `_functools` has it; the first `lru_cache` the
    program makes loads a second copy of functools with the native one hidden, and takes
    that copy's (about 1.3 ms, so not at start-up)."""
    import functools
    import _functools

    native = getattr(_functools, "_lru_cache_wrapper", None)
    if native is None or functools._lru_cache_wrapper is not native:
        return

    def _lru_cache_wrapper(user_function, maxsize, typed, _CacheInfo):
        import importlib.util

        wrapper = native
        spec = importlib.util.find_spec("functools")
        if spec is not None and spec.loader is not None:
            del _functools._lru_cache_wrapper
            try:
                copy = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(copy)
            finally:
                _functools._lru_cache_wrapper = native
            wrapper = copy._lru_cache_wrapper
        functools._lru_cache_wrapper = wrapper
        return wrapper(user_function, maxsize, typed, _CacheInfo)

    functools._lru_cache_wrapper = _lru_cache_wrapper


def annotate_outer_classes(tree):
    """`tree` (a module's AST) with a conditional annotation that never runs
    (`if False: __rpprof_conditional__: int`) at the end of each class whose body holds a
    class: RustPython 0.6.0 cannot compile a class nested in a class when the inner one has
    an annotation under a condition and the outer one has none (`compat.rs` calls this when
    `compile()` failed so). The annotation never runs, so no class gains an entry in its
    annotations; the outer class gets an (empty) `__annotate__`, as one with annotations
    has."""
    import ast

    def holds_class(statements):
        for statement in statements:
            if isinstance(statement, ast.ClassDef):
                return True
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                inner = getattr(statement, field, None)
                if inner and holds_class(inner if field != "handlers" and field != "cases"
                                         else [s for h in inner for s in h.body]):
                    return True
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and holds_class(node.body):
            never = ast.If(
                test=ast.Constant(value=False),
                body=[
                    ast.AnnAssign(
                        target=ast.Name(id="__rpprof_conditional__", ctx=ast.Store()),
                        annotation=ast.Name(id="int", ctx=ast.Load()),
                        value=None,
                        simple=1,
                    )
                ],
                orelse=[],
            )
            last = node.body[-1]
            for part in ast.walk(never):
                ast.copy_location(part, last)
                part.end_lineno, part.end_col_offset = last.end_lineno, last.end_col_offset
            node.body.append(never)
    return tree


# --- property subclasses that define __get__ -------------------------------------------
#
# RustPython 0.6.0 specialises a hot `obj.attr` whose class attribute is a `property` by
# calling the property's getter function directly. It does so for subclasses of `property`
# too, so a subclass's own `__get__` is skipped from the third access on. werkzeug's (and
# so Flask's) `cached_property` is such a subclass: `app.jinja_env` made a new Jinja
# environment, and compiled every template again, on every request (about 20 KB kept per
# request, and a tenth of its time). The interpreter only specialises a getter that is a
# plain function taking exactly one argument; so a subclass that defines `__get__` gets
# its getter wrapped in a function that also takes `*rest`, and calls the original.
# `property.__init_subclass__` (compat.rs: Python cannot set attributes of a builtin type)
# calls `guard` for every subclass made after start-up, and
# `guard_existing_property_subclasses` does it for those made before. The cost: one more Python call
# each time such a getter runs (for a cached property, once per object).

_GUARDED = "__rpprof_unspecialized__"


def _defines_get(cls):
    """Whether `cls`, a subclass of property, or a class between it and property, defines
    `__get__`."""
    for klass in cls.__mro__:
        if klass is property:
            return False
        if "__get__" in klass.__dict__:
            return True
    return False


def _getter_not_specialised(fget):
    """`fget` wrapped in a function the interpreter does not specialise (it takes `*rest`),
    looking like `fget` to introspection (name, qualname, module, doc, `__wrapped__`)."""
    if type(fget) is not _FunctionType or getattr(fget, _GUARDED, False):
        return fget

    def getter(obj, *rest):
        return fget(obj, *rest)

    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(getter, attr, getattr(fget, attr))
        except (AttributeError, TypeError):
            pass
    getter.__dict__.update(fget.__dict__)
    getter.__wrapped__ = fget
    setattr(getter, _GUARDED, True)
    return getter


def guard(cls):
    """Called by `property.__init_subclass__` (compat.rs) for each new subclass of
    property. Makes `cls.__init__` hand `property.__init__` a getter the interpreter does not
    specialise (the getter being the first positional argument, or `fget=`)."""
    if not _defines_get(cls):
        return
    init = cls.__dict__.get("__init__")
    if init is None:
        init = cls.__init__
        if getattr(init, _GUARDED, False):
            return  # a guarded base's __init__ is inherited
    elif getattr(init, _GUARDED, False):
        return

    def __init__(self, *args, **kwargs):
        if args:
            args = (_getter_not_specialised(args[0]),) + args[1:]
        elif "fget" in kwargs:
            kwargs["fget"] = _getter_not_specialised(kwargs["fget"])
        init(self, *args, **kwargs)

    __init__.__qualname__ = getattr(init, "__qualname__", "__init__")
    __init__.__doc__ = getattr(init, "__doc__", None)
    __init__.__wrapped__ = init
    setattr(__init__, _GUARDED, True)
    cls.__init__ = __init__


def guard_existing_property_subclasses():
    """Guards the subclasses of property made before `property.__init_subclass__` was set."""
    pending = list(property.__subclasses__())
    while pending:
        cls = pending.pop()
        guard(cls)
        pending.extend(cls.__subclasses__())


# --- C extensions built for CPython --------------------------------------------------------


class _CExtensionFinder:
    """Last on `sys.meta_path`, so asked only about a module no other finder found: if the
    place the module would be holds a C extension built for CPython (`NAME.cpython-*.so`,
    `NAME.abi3.so`), the import fails saying so, in one line that names the file, instead
    of a bare "No module named". Still a `ModuleNotFoundError`, so code that tries an
    optional accelerator and falls back keeps working."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        import os

        tail = fullname.rpartition(".")[2]
        for directory in _sys.path if path is None else path:
            try:
                names = os.listdir(directory or ".")
            except (OSError, TypeError):
                continue
            for name in names:
                if name.startswith(tail + ".") and name.endswith(".so") and (
                    ".cpython-" in name or name.endswith(".abi3.so")
                ):
                    extension = os.path.join(directory, name)
                    raise ModuleNotFoundError(
                        f"{fullname} is a C extension built for CPython ({extension}): "
                        "rpprof runs pure-Python packages only",
                        name=fullname,
                        path=extension,
                    )
        return None
