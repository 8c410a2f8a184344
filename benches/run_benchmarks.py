#!/usr/bin/env python3
"""Regenerates BENCHMARKS.md: every figure in it comes from this script.

    python3 benches/run_benchmarks.py            # all sections
    python3 benches/run_benchmarks.py startup    # only some sections (others are kept)
    python3 benches/run_benchmarks.py --render   # rewrite BENCHMARKS.md from results.json

It builds the release binary first. Comparisons are measured pair by pair in one run
(the profiled and the unprofiled command alternate), and reported as ratios of medians,
because these machines are shared and noisy: absolute times vary, ratios much less.

This file is the command line: which sections to run, their figures kept in
`benches/results.json`, and BENCHMARKS.md drawn from them. What the sections share (the
binary measured, alternating pairs, medians, the lines of `record --verbose`) is in
`harness.py`; each section is `sections/NAME.py`, with `bench_NAME()` returning its figures
and `render_NAME(figures)` its Markdown.
"""

import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, RPPROF, RESULTS, WORKLOADS, timed, paired, median, HANDLER_LINE, figures


OUT = ROOT / "BENCHMARKS.md"


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--ignore-rust-version", "--quiet"],
        cwd=ROOT,
        check=True,
    )


sys.path.insert(0, str(ROOT / "benches" / "speed"))
import speed  # noqa: E402  (benches/speed/speed.py)


def bench_speed():
    """pyperformance under rpprof and CPython. With RPPROF_SPEED_BASELINE=LABEL the run is
    kept as the "before" column of later runs; otherwise the kept baseline carries over.
    RPPROF_SPEED_LABEL says which build was measured (e.g. one from benches/speed/pgo.py)."""
    result = speed.measure(RPPROF)
    if os.environ.get("RPPROF_SPEED_LABEL"):
        result["label"] = os.environ["RPPROF_SPEED_LABEL"]
    label = os.environ.get("RPPROF_SPEED_BASELINE")
    previous = json.loads(RESULTS.read_text()).get("speed", {}) if RESULTS.exists() else {}
    if label:
        result["baseline"] = dict(result, label=label)
    elif "baseline" in previous:
        result["baseline"] = previous["baseline"]
    return result


ASYNC_CPU = WORKLOADS / "async_cpu.py"
ASYNC_STEPS = WORKLOADS / "async_steps.py"


def async_handler_pair(rate, rounds):
    """Handler medians (and p99s) of `record -v` on async_cpu.py (nearly every sample taken
    in a task), runs with task names on and off (RPPROF_NO_TASK_NAMES) alternating."""
    on, off = [], []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(RPPROF), "record", "-v", "-r", str(rate), "-o", str(Path(tmp) / "p.folded"),
               str(ASYNC_CPU), "6000000", "30"]
        for _ in range(rounds):
            for names, into in ((True, on), (False, off)):
                env = dict(os.environ)
                if not names:
                    env["RPPROF_NO_TASK_NAMES"] = "1"
                done = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
                m = HANDLER_LINE.search(done.stderr)
                into.append((int(m.group(2)), int(m.group(3)), int(m.group(5))))
    return {
        "on_median_ns": median([r[0] for r in on]),
        "off_median_ns": median([r[0] for r in off]),
        "on_p99_ns": median([r[1] for r in on]),
        "off_p99_ns": median([r[1] for r in off]),
        "delta_median_ns": median([a[0] - b[0] for a, b in zip(on, off)]),
        "samples": sum(r[2] for r in on + off),
        "rounds": rounds,
    }


def async_overhead_pair(tasks, steps, rounds, mode):
    """`record --mode MODE --async` vs `record --mode MODE` on async_steps.py, alternating;
    median (min-max) of the per-pair wall ratios."""
    ratios, plain_wall = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "p.folded")
        base = [str(RPPROF), "record", "-m", mode, "-o", out]
        script = [str(ASYNC_STEPS), str(tasks), str(steps)]
        for _ in range(rounds):
            with_async = timed([*base, "--async", *script])
            without = timed([*base, *script])
            ratios.append(with_async[0] / without[0])
            plain_wall.append(without[0])
    return {
        "ratio": median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "plain_wall_s": median(plain_wall),
        "rounds": rounds,
    }


def bench_async():
    """Handler time with task names on and off; the cost of `--async` on many short steps."""
    binary = os.environ.get("RPPROF_BINARY", "")
    results = {"_build": "dev" if "/debug/" in binary else "release"}
    for rate in (99, 999):
        results[f"handler@{rate}"] = async_handler_pair(rate, rounds=5)
    for tasks in (10, 100, 1000):
        steps = max(30_000 // tasks, 30)
        for mode in ("wall", "cpu"):
            results[f"steps {tasks}x{steps} {mode}"] = async_overhead_pair(tasks, steps, 7, mode)
    return results


def render_async(r):
    rows = [
        "## asyncio tasks: handler time and the cost of `--async`",
        "",
        "Handler time per sample, naming the running task or not: `record -v -r RATE` on",
        "`benches/workloads/async_cpu.py 6000000 30` (a loop at depth 30 inside the task",
        "`worker`, so nearly every sample is taken in a task), five runs with task names and",
        "five with `RPPROF_NO_TASK_NAMES=1` (the handler then skips the lookup: today's",
        "handler plus one atomic load), alternating; medians over the runs of each run's",
        "median and p99, and the median of the per-pair differences of medians.",
        "Target: the median within 0.5 us of the handler without task names. The handler's",
        "histogram has 12.5% buckets (about 2 us wide at 14 us, 256 ns at 2 us).",
    ]
    build = r.get("_build", "release")
    if build == "dev":
        rows += ["**Measured with the dev build** (workspace crates at opt-level 1), not the release build."]
    elif build != "release":
        rows += [f"Measured with a {build} build, not the release profile's."]
    rows += [
        "",
        "| rate | samples | median on (ns) | median off (ns) | difference (ns) | p99 on (ns) | p99 off (ns) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, v in figures(r):
        if not key.startswith("handler@"):
            continue
        rows.append(
            f"| {key.split('@')[1]} Hz | {v['samples']} | {v['on_median_ns']:.0f} | {v['off_median_ns']:.0f} | "
            f"{v['delta_median_ns']:+.0f} | {v['on_p99_ns']:.0f} | {v['off_p99_ns']:.0f} |"
        )
    rows += [
        "",
        "At 99 Hz the median is set by cache and TLB misses (see the handler section above),",
        "and single runs' medians vary by more than the difference in either direction; naming",
        "a task reads four more cold cache lines (the VM's slot, the task, its name object, the",
        "name's bytes).",
        "",
        "The cost of `--async`: `benches/workloads/async_steps.py TASKS STEPS` runs TASKS tasks",
        "of STEPS short steps each (a 200-iteration loop, then `await asyncio.sleep(0)`: one",
        "loop iteration per round of steps) next to TASKS tasks that only wait.",
        "`record --mode MODE --async` vs `record --mode MODE` at 99 Hz, seven alternating",
        "pairs, median (min-max) of the per-pair wall ratios. In wall mode `--async` wraps",
        "every event loop iteration (a Python-level call and a clock read) and, once per",
        "sampling period, walks every task of the loop with its coroutine chain; in CPU mode",
        "it changes only the view (the handler names tasks either way).",
        "",
        "| tasks x steps | mode | `record` wall (s) | wall ratio `--async` / without |",
        "|---|---|---|---|",
    ]
    for key, v in figures(r):
        if not key.startswith("steps "):
            continue
        _, shape, mode = key.split(" ")
        rows.append(
            f"| {shape.replace('x', ' x ')} | {mode} | {v['plain_wall_s']:.2f} | {v['ratio']:.3f} "
            f"({v['ratio_min']:.3f}-{v['ratio_max']:.3f}) |"
        )
    return "\n".join(rows)


# RPPROF_BASELINE: a build of the same profile without wait naming (today's main), to compare
# handler times against; without it, only this build's own variants are compared.
BASELINE = os.environ.get("RPPROF_BASELINE")


def handler_median(binary, extra, script_args, rate):
    """One `record --verbose` run: (median handler ns, samples)."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [str(binary), "record", "-v", "-r", str(rate), *extra,
             "-o", str(Path(tmp) / "p.folded"), *script_args],
            check=True, capture_output=True, text=True,
        )
    m = HANDLER_LINE.search(done.stderr)
    return int(m.group(2)), int(m.group(5))


def alternating_handler(variants, script_args, rate, rounds):
    """Runs the variants (name -> (binary, extra args)) in turn, `rounds` times; per variant
    the median over rounds of each run's median handler time, and the samples in all."""
    runs = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (binary, extra) in variants.items():
            runs[name].append(handler_median(binary, extra, script_args, rate))
    return {name: {"median_ns": median([m for m, _ in r]), "samples": sum(n for _, n in r)}
            for name, r in runs.items()}


def bench_waits():
    """Handler time with wait naming and with `--native`, against a baseline build when one
    is given; the CPU cost of `--native` as alternating record/record pairs."""
    def today(extra):
        return {"today": (BASELINE, extra)} if BASELINE else {}

    results = {"build": "release" if "/release/" in str(RPPROF) else "dev",
               "baseline": bool(BASELINE)}
    cpu_bound = [str(WORKLOADS / "cpu_bound.py"), "8000000", "1", "30"]
    results["cpu_bound_99"] = alternating_handler(
        {**today([]), "waits": (RPPROF, []), "native": (RPPROF, ["--native"])}, cpu_bound, 99, 7)
    wall = ["--mode", "wall"]
    idle = [str(WORKLOADS / "idle_threads.py"), "15000000", "8"]
    results["wall_idle_99"] = alternating_handler(
        {**today(wall), "waits": (RPPROF, wall)}, idle, 99, 7)
    builtins = [str(WORKLOADS / "builtin_calls.py"), "20"]
    results["builtins_999"] = alternating_handler(
        {"plain": (RPPROF, []), "native": (RPPROF, ["--native"])}, builtins, 999, 7)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "p.folded")
        rec, base = paired(
            [str(RPPROF), "record", "-r", "999", "--native", "-o", out, *builtins],
            [str(RPPROF), "record", "-r", "999", "-o", out, *builtins], 9)
    cpu = [r[1] / b[1] for r, b in zip(rec, base)]
    results["native_cpu_ratio_999"] = {"median": median(cpu), "min": min(cpu), "max": max(cpu),
                                       "record_cpu_s": median([b[1] for b in base])}
    return results


def render_waits(r):
    rows = [
        "## Wait naming and `--native`: handler time",
        "",
        "Median SIGPROF handler time (the sampler's own histogram, `record --verbose`): the",
        "median over seven alternating runs of each run's median. `today` is a build of main",
        "without wait naming, `waits` this one. Naming a call costs only where the innermost",
        "frame is in a call (one 2-byte read otherwise): idle samples always, running samples",
        "with `--native`. Target: median within 0.5 us of today's. The histogram has eight",
        "buckets per power of two (12.5%): 1024 ns wide around 10 us, 256 ns around 2-3 us,",
        "so at 99 Hz in CPU mode, where cold caches make the median 9-11 us, one bucket is",
        "more than the target and run-to-run noise moves medians by a bucket either way.",
        f"Measured on the {r['build']} build of both (same profile, same machine, alternating).",
        "",
        "| workload | variant | median (ns) | samples |",
        "|---|---|---|---|",
    ]
    table = [
        ("`cpu_bound.py`, depth 30, 99 Hz, CPU", r["cpu_bound_99"],
         [("today", "today"), ("wait naming", "waits"), ("wait naming + `--native`", "native")]),
        ("`idle_threads.py` 8 threads (7 napping), 99 Hz, wall", r["wall_idle_99"],
         [("today", "today"), ("wait naming", "waits")]),
        ("`builtin_calls.py` (sorted, join, sum), 999 Hz, CPU", r["builtins_999"],
         [("without `--native`", "plain"), ("`--native`", "native")]),
    ]
    for workload, figures, variants in table:
        for label, name in variants:
            v = figures.get(name)
            if v:
                rows.append(f"| {workload} | {label} | {v['median_ns']:.0f} | {v['samples']} |")
    n = r["native_cpu_ratio_999"]
    rows += [
        "",
        "What `--native` costs the program: `record -r 999 --native` / `record -r 999` on",
        f"`builtin_calls.py` (most samples inside builtins), nine alternating pairs: CPU ratio",
        f"{n['median']:.3f} ({n['min']:.3f}-{n['max']:.3f}), record alone {n['record_cpu_s']:.2f} s CPU.",
    ]
    return "\n".join(rows)


sys.path.insert(0, str(ROOT / "benches" / "soak"))
import soak  # noqa: E402  (benches/soak/soak.py)

# The soak runs: (kind, soak.py arguments, extra environment). Each writes a JSON document;
# the section shows them all. About 60 minutes in all.
SOAK_RUNS = [
    ("threads", ["--mode", "python,run,record,agent-cpu", "--threads", "100000"], {}),
    ("serve", ["--app", "flask", "--mode", "python", "--duration", "120"], {}),
    ("serve", ["--app", "flask", "--mode", "run,agent-cpu", "--duration", "600"], {}),
    ("serve", ["--app", "flask", "--mode", "record,agent-wall", "--alloc", "--duration", "300"], {}),
    ("serve", ["--app", "stdlib", "--mode", "python", "--duration", "120"], {}),
    ("serve", ["--app", "stdlib", "--mode", "run,agent-cpu", "--duration", "300"], {}),
    ("serve", ["--app", "stdlib", "--mode", "run", "--duration", "300",
               "--tag", "MALLOC_ARENA_MAX=2"], {"MALLOC_ARENA_MAX": "2"}),
]


def bench_soak():
    docs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (kind, extra, env) in enumerate(SOAK_RUNS):
            out = Path(tmp) / f"{i}.json"
            subprocess.run([sys.executable, str(ROOT / "benches" / "soak" / "soak.py"), kind,
                            "--rpprof", str(RPPROF), "--out-dir", str(Path(tmp) / str(i)),
                            "--json", str(out), *extra], check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, **env})
            doc = json.loads(out.read_text())
            doc["env"] = env
            docs.append(doc)
    return {"docs": docs}


def render_soak(r):
    return "\n".join([
        "## Soak: a thread-per-request service for ten minutes",
        "",
        "`benches/soak/soak.py` (its own README is its docstring) runs a Flask 3.1 app on",
        "werkzeug's threaded server (Flask from PyPI, installed into `benches/soak/.deps` and put",
        "on `PYTHONPATH`) and the same routes on the standard library's `ThreadingHTTPServer`,",
        "under CPython, `rpprof run`, `record` and the agent, loaded by four client threads",
        "from the same machine, and reports resident memory, throughput and the agent's pull",
        "latency over time; `threads` starts and joins 100,000 threads. The figures below are",
        "from one sitting, one mode after the other.",
        "",
        soak.markdown(r["docs"]),
        "",
        SOAK_FINDINGS,
    ])


# What the soak's figures of 2026-12-07 showed, read by hand (kept as written on every
# regeneration; the tables above are regenerated).
SOAK_FINDINGS = """### What the soak showed (2026-12-07, by hand)

Release profile with LTO off and 16 codegen units (both sides of every comparison).

- **Threads.** 100,000 threads started and joined, 8 at a time: RSS grows 5.1 MB under
  `run`, 6.9 MB under `record`, 6.3 MB under `agent` (target: under 10 MB); CPython 0.0 MB.
  The build before this work grew 140.9 MB over 20,000 threads (7.0 KB a thread): rpprof's
  registry entry (6.5 KB of it a stack-dump slot), rings and interpreter slot, RustPython's
  free lists, thread handles and `threading` tables. What is left, about 55 bytes a thread,
  is RustPython's QSBR thread list.
- **Allocator.** Thread churn, `run`, 100,000 threads: glibc 45.0 -> 50.1 MB in 34.4 s,
  glibc with `MALLOC_ARENA_MAX=2` 44.5 -> 49.7 MB in 25.8 s, mimalloc (`--features
  mimalloc`) 54.2 -> 59.5 MB in 28.9 s. The stdlib service under `run`, 5 minutes:
  glibc 309.7 req/s, 5.54 ms CPU a request, +58.7 MB; `MALLOC_ARENA_MAX=2` 295.7 req/s,
  6.04 ms, +66.9 MB (mimalloc's service run was cut for time). Chosen: glibc's malloc with
  its default arenas, as before: once rpprof and the interpreter stopped keeping memory
  per thread, fewer arenas neither lowered growth nor raised throughput, and mimalloc
  starts 9 MB higher. `MALLOC_ARENA_MAX` stays the user's setting.
- **The stdlib service still grows** about 0.7 KB a request under `run` (+58.7 MB in 5
  minutes, 93,000 requests), as much under the agent (+58.2 MB): the growth is not the
  profiler's (it is the same with no session), but it is not flat either; what keeps it is
  not yet known (synthetic thread churn with the same work is flat). Its last two minutes
  under `run` were slowed by a `record --alloc` probe run beside it.
- **Flask (werkzeug, Jinja2) still grows** under every mode, `run` included, about 2.5 KB
  a request, while throughput holds (last minute 0.95x the first under `run`, 0.98x under
  the agent). `record --alloc` on the service names it: in use after 5 minutes,
  `Environment._compile` 73.8 MiB, `Flask.create_jinja_environment` 20 MiB,
  `Thread.__init__` 35 MiB (and its `Condition`/`Event`). Under RustPython 0.6.0 the Jinja
  environment that renders a page is not the one Flask cached, so the template is compiled
  again for every request (about 3.7 MB allocated per `/page`) and environments are kept.
  (Found later the same day, and fixed: see the next finding. The tables above predate
  the fix.)
- **Second sitting (2026-12-07 afternoon): Flask after the compatibility fix.** The cause
  of the recompiles: RustPython specialises a hot `obj.attr` whose class attribute is a
  `property` into a direct call of its getter, for subclasses of `property` too, skipping
  their own `__get__`; werkzeug's `cached_property` (`app.jinja_env`) is one, so every
  request built a new Jinja environment (`src/python/compat.py` now hands such subclasses a
  getter the interpreter does not short-circuit). Measured with the same soak, one
  sitting, release build, LTO off: `run` went from 137-143 to 166-186 req/s, and from
  188 -> 562 MB in 10 minutes to 176 -> 297 MB (1.69x; flat at 297-299 MB over the last
  3 minutes); `agent` (CPU) 194 -> 290 MB (1.49x) (its throughput in that run, 106 req/s,
  is not a figure: other measurements ran beside it). A second pair of 10-minute runs,
  the agent's on a quiet machine (`run`'s first three minutes shared it with builds):
  `run` 173.9 req/s, 10.05 ms CPU a request, 174 -> 306 MB (1.76x); `agent` 153.6 req/s
  (0.88x `run`), 12.27 ms CPU a request (+22%), 257 -> 358 MB (1.40x), pulls p50 1.00 s,
  p99 1.25 s, `rpprof_overhead_ratio` 0.94%. Misses: 1.25x RSS, 0.97x throughput, and the
  metric against the A/B. What is left of the growth, found with `record --alloc` on a
  trivial WSGI app on werkzeug's server (1.2-1.8 KB a request; the standard library's
  `ThreadingHTTPServer`, 0.2 KB):
  - memory allocated in `Thread.__init__` (`_ThreadHandle()`, the `Event` and its
    `Condition`, the instance dict), about 1.2 KB a thread, stays in use although every
    `Thread` dies (a weak-reference census: 1 of 10,013 alive, the server's), `gc.collect()`
    finds almost nothing (11 collections, 15 objects), and `MALLOC_ARENA_MAX=1` grows as
    much: not garbage, not arenas. The suspect is the interpreter's deferred freeing
    (QSBR: the memory of a dead object that was published to a lock-free cache waits until
    every attached thread passes a checkpoint); not proven.
  - werkzeug ends every request with `rfile.read(10_000_000)`: RustPython zero-fills a
    10 MB buffer and copies the socket read through a second 10 MB scratch buffer (20 MB
    allocated a request; CPython allocates without touching). Reading in 64 KB pieces
    (tried by hand, not adopted) lowered RSS by 55 MB but not its slope.
  - `threading.local` keeps about 230 bytes a thread that used it; any dict or set
    whose keys come and go grows (24-31 bytes a key); the set under `threading._dangling`
    is now copied at each sweep.
- **CPU mode and short threads.** The per-thread CPU-clock timers fire from the kernel's
  tick (4 ms here): a thread that runs less than a period rarely gets a sample. 3,000
  threads of 0.4 ms CPU each got 6 samples where their 1.2 s of CPU should give about
  120; on the Flask service the samples account for about 76% of the program's CPU
  (25,458 samples at 99 Hz for 336 CPU seconds). Wall mode is not affected. Not fixed.
- **Agent cost, measured against metrics.** Flask, 10 minutes each, one after the other:
  `agent` (CPU, 99 Hz) served 0.91x the requests of `run` and used 10.7% more CPU per
  request (14.51 vs 13.11 ms) while `rpprof_overhead_ratio` said 0.96%: the metric counts
  the profiler's own threads and the handler's time, not what sampling costs the
  program's threads otherwise (signal delivery, allocator hook with `--alloc`, cache
  effects), and sequential 10-minute runs of a leaking service are not an alternating A/B.
  The stdlib service shows it larger: 0.80x the requests (first three minutes), 7.39 vs
  5.54 ms of CPU a request (+33%), against an `rpprof_overhead_ratio` of 1.1%. A miss
  against both "within 0.5 points" and "agent >= 0.97x run"; the extra CPU is spent on the
  program's threads (the profiler's own threads used 6 s of 546 s), which start and end
  once a request. Thread churn alone costs the agent 9% more time per thread (37.7 vs
  34.4 s for 90,000 threads, about 37 us each): not enough to explain it. An alternating
  A/B on the stdlib service (50 s runs, `soak.py --duration 50`) confirms it and shows it
  is any session's, not the agent's: `agent` / `run` throughput 0.881 and 0.842 over two
  pairs (CPU a request +16% and +20%), `record` / `run` 0.806 (+27%). The earlier
  overhead figures (1% at 99 Hz) were measured on long-lived threads; a thread per
  request is where sampling costs more than the metric says. Not explained yet.
- **Pulls.** `seconds=1` pulls answered in 0.96-1.04 s under load, every one but the first
  of each run (1.35 and 1.37 s, taken while the service was still warming up)."""


def section(name):
    """benches/sections/NAME.py's bench_NAME and render_NAME."""
    module = importlib.import_module(f"sections.{name}")
    return getattr(module, f"bench_{name}"), getattr(module, f"render_{name}")


SECTIONS = {
    "startup": section("startup"),
    "overhead": section("overhead"),
    "ab": section("ab"),
    "handler": section("handler"),
    "labels": section("labels"),
    "wall_idle": section("wall_idle"),
    "fidelity": section("fidelity"),
    "max_rate": section("max_rate"),
    "pipeline": section("pipeline"),
    "store": section("store"),
    "timeline": section("timeline"),
    "top": section("top"),
    "dump": section("dump"),
    "agent": section("agent"),
    "subprocesses": section("subprocesses"),
    "speed": (bench_speed, speed.render),
    "peers": section("peers"),
    "stress": section("stress"),
    "memcheck": section("memcheck"),
    "alloc": section("alloc"),
    "async": (bench_async, render_async),
    "waits": (bench_waits, render_waits),
    "soak": (bench_soak, render_soak),
}


# Measured by hand, not by this script (a build comparison, not a run of rpprof): kept
# as written at the end of BENCHMARKS.md on every regeneration.
BUILD_FEATURES = """## Build: TLS and SQLite features

`import ssl` and `import sqlite3` need RustPython's `ssl-*` and `sqlite` cargo features.
Candidates for TLS: `ssl-rustls-aws-lc` (rustls on AWS-LC, compiled from C by the `cc`
crate: gcc only, no cmake, no clang, no system headers) and `ssl-openssl` (links the
system's `libssl.so.3`: needs `libssl-dev` and `pkg-config` to build, `libssl3` to run).
Plain `ssl-rustls` installs no crypto provider: the embedder would have to. Chosen:
`sqlite` + `ssl-rustls-aws-lc`, the one that builds and runs with no system package.

Dev builds are incremental from an already-built dev target (only what the feature change
touches is rebuilt, including `rustpython-vm` and `rustpython-stdlib`), on a machine
shared with other builds (load average 8 on 2 cores), so wall times are inflated; CPU time
(user) is the steadier figure. The release build was seeded with the deps of a release
build without the features; `cargo build --timings` gives each new crate's share.

| change | dev build, wall | dev build, CPU (user) |
|---|---|---|
| + `sqlite` | 3 min 25 s | 2 min 13 s |
| then + `ssl-rustls-aws-lc` (chosen) | 22 min 3 s | 12 min 19 s |
| then + `ssl-openssl` instead (not chosen, niced) | 9 min 53 s | 6 min 20 s |

| release binary | before (main's build of the same day, no features) | after (`sqlite` + `ssl-rustls-aws-lc`) |
|---|---|---|
| `target/release/rpprof` (line tables) | 168.5 MB | 209.5 MB |
| stripped | 38.6 MB | 46.2 MB |

New crates in the release build (`--timings`, seconds of one core): `libsqlite3-sys`
build script 128, `aws-lc-sys` build script 108, `rustls` 39, `x509-parser` 12, the rest
under 10 each: about 5.5 core-minutes in all, which on 2 cores mostly overlaps the
9-minute compile of `rustpython-vm`. Estimate for a clean build: about 3 minutes more
than before (not measured clean). The dev binary with `ssl-openssl` instead was 5.7 MB
smaller (79.5 vs 85.2 MB).

_Measured 2026-12-03 on 2 cores, AMD EPYC, by hand (not regenerated by this script)._"""


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}"


def main():
    args = sys.argv[1:]
    render_only = "--render" in args
    wanted = [a for a in args if a != "--render"] or ([] if render_only else list(SECTIONS))
    unknown = [w for w in wanted if w not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    if wanted and "RPPROF_BINARY" not in os.environ:
        build()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in wanted:
        print(f"running {name} ...", file=sys.stderr)
        results[name] = SECTIONS[name][0]()
        results[name]["_measured"] = time.strftime("%Y-%m-%d")
        results[name]["_machine"] = machine()
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    parts = [
        "# Benchmarks",
        "",
        "Regenerate with `python3 benches/run_benchmarks.py` (or name sections:",
        f"{', '.join('`' + s + '`' for s in SECTIONS)}). Raw figures: `benches/results.json`.",
        "Release build. Comparisons alternate the two commands run by run and report ratios.",
    ]
    for name in SECTIONS:
        if name in results:
            r = results[name]
            parts += ["", SECTIONS[name][1](r), "", f"_Measured {r['_measured']} on {r['_machine']}._"]
    parts += ["", BUILD_FEATURES]
    OUT.write_text("\n".join(parts) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
