"""Profile part of a program from inside it, with rpprof's sampler.

Available to programs run by `rpprof run` (and `rpprof agent`):

    import rpprof

    rpprof.start(rate=99)           # sample every Python thread, 99 times a second
    do_the_work()
    rpprof.stop()
    rpprof.write("work.svg")        # .svg, .folded, .pb.gz or .speedscope.json

    with rpprof.profile("work.svg", rate=199):
        do_the_work()

    rpprof.start(alloc=True)        # also sample allocations (every 512 KiB on average)
    build_the_cache()
    rpprof.stop()
    rpprof.write("cache.pb.gz")     # alloc_space, inuse_space, ... next to the time

    rpprof.start(mode="wall", async_=True)  # asyncio: a frame per task, waiting ones too

Under `rpprof record` the whole program is already being recorded, so `start` raises
RuntimeError.

Labels tag the samples a thread takes inside a block (pprof sample labels, Pyroscope
tags, `rpprof report --label`, `--group-by label:KEY`):

    with rpprof.labels(endpoint="/cart", tenant="acme"):
        handle()

    @rpprof.labels(endpoint="/cart")
    def handle_cart(request): ...
"""

import sys as _sys

import _rpprof

__all__ = [
    "start",
    "stop",
    "write",
    "is_running",
    "profile",
    "labels",
    "current_labels",
]

labels = _rpprof.labels
labels.__doc__ = """Labels the samples the current thread takes inside a block:

    with rpprof.labels(endpoint="/cart", tenant="acme"):
        ...

or every call of a function (`@rpprof.labels(endpoint="/cart")`). Keys are names
(`http.route` too, through a dict: `rpprof.labels({"http.route": "/cart"})`), values are
str. Blocks nest: an inner block adds keys or replaces their values, and leaving it
(also by an exception) restores the outer ones. Labels belong to the thread: threads
started inside a block do not inherit them. Without a profiler running it only checks
its arguments. Raises ValueError for a value that is not a str, more than 16 labels, or
a key rpprof uses itself (thread_name, thread_id, thread_state, thread_group, pid,
process, task)."""


def current_labels():
    """The labels of the block the current thread is in, as a dict."""
    return _rpprof.current_labels()


def _decorate(block, function):
    """`@rpprof.labels(...)`: `function` with every call run inside `block`."""
    import functools
    import inspect

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def labelled_coroutine(*args, **kwargs):
            with block:
                return await function(*args, **kwargs)

        return labelled_coroutine

    @functools.wraps(function)
    def labelled(*args, **kwargs):
        with block:
            return function(*args, **kwargs)

    return labelled


def _title():
    argv0 = _sys.argv[0] if _sys.argv else ""
    return argv0.rsplit("/", 1)[-1] or "python"


DEFAULT_ALLOC_INTERVAL = _rpprof.DEFAULT_ALLOC_INTERVAL


def start(
    rate=_rpprof.DEFAULT_RATE,
    mode=_rpprof.DEFAULT_MODE,
    max_depth=_rpprof.DEFAULT_MAX_DEPTH,
    alloc=False,
    alloc_interval=None,
    native=False,
    async_=False,
):
    """Starts sampling every Python thread: `rate` samples per second per thread, `mode`
    "cpu" (threads in proportion to the CPU they use) or "wall" (every thread, running or
    blocked), keeping the innermost `max_depth` frames of each stack. With `alloc=True`
    (or an `alloc_interval` in bytes, 512 KiB by default) allocations are sampled too: the
    profile then says which stacks allocated memory and which of it is still in use.
    With `native=True`, CPU time inside a builtin (`sorted`, a big `read`) ends in a
    `[native] NAME` leaf under the line that called it.
    With `async_=True`, samples taken in an asyncio task get a `task NAME` frame under
    their thread (pprof always has the `task` label), and in wall mode the tasks that
    wait are sampled too, each with the coroutine chain it is suspended in."""
    interval = 0
    if alloc or alloc_interval is not None:
        interval = DEFAULT_ALLOC_INTERVAL if alloc_interval is None else int(alloc_interval)
        if interval <= 0:
            raise ValueError("alloc_interval must be a positive number of bytes")
    if async_:
        _hook_event_loops()
    _rpprof.start(int(rate), str(mode), int(max_depth), _title(), interval, bool(native))
    _rpprof.set_async_view(bool(async_))


_event_loops_hooked = False
# While a wall-mode session samples, every event loop wakes at least this often.
HEARTBEAT_S = 0.1


def _hook_event_loops():
    """Wall mode with --async (the embedding calls it; programs need not): every asyncio
    event loop, between two batches of task steps, records its waiting tasks with their
    coroutine chains once per sampling period (see the embedding's `tasks` module)."""
    global _event_loops_hooked
    if _event_loops_hooked:
        return
    _event_loops_hooked = True
    from asyncio import base_events, tasks

    import weakref

    run_once = base_events.BaseEventLoop._run_once
    due = _rpprof.async_due
    record = _rpprof.async_record
    sampling = _rpprof.async_sampling
    all_tasks = tasks.all_tasks
    # Loops with a heartbeat: a loop that waits in select() for long would otherwise
    # record its waiting tasks only when it wakes.
    beating = weakref.WeakSet()

    def beat(loop):
        if sampling() and not loop.is_closed():
            loop.call_later(HEARTBEAT_S, beat, loop)
        else:
            beating.discard(loop)

    def _run_once(self):
        weight = due()
        if weight is not None:
            try:
                if self not in beating:
                    beating.add(self)
                    self.call_later(HEARTBEAT_S, beat, self)
                record(self, all_tasks(self), weight)
            except Exception:
                pass
        return run_once(self)

    _run_once.__doc__ = run_once.__doc__
    _run_once.__qualname__ = run_once.__qualname__
    base_events.BaseEventLoop._run_once = _run_once


def stop():
    """Stops sampling; returns the number of samples recorded. `write` saves them."""
    return _rpprof.stop()


def is_running():
    """True between `start` and `stop`."""
    return _rpprof.is_running()


def write(path, format=None):
    """Writes the last stopped profile to `path`, in the format its extension implies
    (.svg, .folded/.txt, .pb.gz/.pprof, .speedscope.json) or the one `format` names
    ("svg", "folded", "pprof", "speedscope")."""
    _rpprof.write(str(path), format)


def _quiet_fork(fork):
    """os.fork without the multi-threaded warning when the only other threads are
    rpprof's own (the embedding installs it; programs need not call it)."""

    def fork_quietly():
        import threading
        import warnings

        if threading.active_count() > 1:
            return fork()
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore",
                message=r"This process \(pid=\d+\) is multi-threaded",
                category=DeprecationWarning,
            )
            return fork()

    fork_quietly.__name__ = fork.__name__
    fork_quietly.__doc__ = fork.__doc__
    return fork_quietly


def _profile_forked_children():
    """Where children are profiled (--subprocesses), forked ones profile themselves (the
    embedding calls it; programs need not)."""
    import posix

    posix.register_at_fork(after_in_child=_rpprof.after_fork_in_child)


class profile:
    """Context manager: profiles the body of a `with` block and writes the result to
    `path` when the block ends (also when it raises)."""

    def __init__(
        self,
        path,
        rate=_rpprof.DEFAULT_RATE,
        mode=_rpprof.DEFAULT_MODE,
        max_depth=_rpprof.DEFAULT_MAX_DEPTH,
        format=None,
        alloc=False,
        alloc_interval=None,
        native=False,
        async_=False,
    ):
        self.path = path
        self.rate = rate
        self.mode = mode
        self.max_depth = max_depth
        self.format = format
        self.alloc = alloc
        self.alloc_interval = alloc_interval
        self.native = native
        self.async_ = async_

    def __enter__(self):
        start(
            self.rate,
            self.mode,
            self.max_depth,
            self.alloc,
            self.alloc_interval,
            self.native,
            self.async_,
        )
        return self

    def __exit__(self, exc_type, exc, tb):
        stop()
        write(self.path, self.format)
        return False


def _no_threading_import_at_exit():
    """Called at the program's end, before the interpreter finalises (the embedding calls
    it). RustPython's finalisation imports `threading` to call `threading._shutdown()`;
    CPython calls it only when the program imported `threading`, and so does this: a
    program that never did is spared the import (over 10 ms, most of an empty script's
    exit). `None` in `sys.modules` makes that import fail quietly; the first `atexit`
    handler (registered last, run first) takes it out again, so that handlers that import
    `threading` get the real module."""
    modules = _sys.modules
    if "threading" in modules:
        return
    import atexit

    def unhide():
        if "threading" in modules and modules["threading"] is None:
            del modules["threading"]

    modules["threading"] = None
    atexit.register(unhide)
