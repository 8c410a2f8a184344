#!/usr/bin/env python3
"""Regenerates BENCHMARKS.md: every figure in it comes from this script.

    python3 benches/run_benchmarks.py            # all sections
    python3 benches/run_benchmarks.py startup    # only some sections (others are kept)
    python3 benches/run_benchmarks.py --render   # rewrite BENCHMARKS.md from results.json

It builds the release binary first. Comparisons are measured pair by pair in one run
(the profiled and the unprofiled command alternate), and reported as ratios of medians,
because these machines are shared and noisy: absolute times vary, ratios much less.
"""

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RPPROF = ROOT / "target" / "release" / "rpprof"
OUT = ROOT / "BENCHMARKS.md"
RESULTS = ROOT / "benches" / "results.json"


def build():
    subprocess.run(
        ["cargo", "build", "--release", "--ignore-rust-version", "--quiet"],
        cwd=ROOT,
        check=True,
    )


def timed(cmd, **kwargs):
    """Wall seconds and child CPU seconds of one run."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu


def paired(a, b, rounds):
    """Runs a and b alternately; returns per-round (wall, cpu) lists for each."""
    ra, rb = [], []
    for _ in range(rounds):
        ra.append(timed(a))
        rb.append(timed(b))
    return ra, rb


def median(values):
    return statistics.median(values)


# --- sections -------------------------------------------------------------------------------

def bench_startup():
    """Start-up time of `rpprof run` on an empty script, next to `python3 -c pass`."""
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.py"
        empty.write_text("")
        rounds = 30
        ours, cpython = paired([str(RPPROF), "run", str(empty)], [sys.executable, "-c", "pass"], rounds)
    return {
        "rounds": rounds,
        "rpprof_run_ms": median([w for w, _ in ours]) * 1000,
        "python3_ms": median([w for w, _ in cpython]) * 1000,
    }


def render_startup(r):
    return "\n".join([
        "## Start-up",
        "",
        f"Median wall time of {r['rounds']} runs each, alternating.",
        "",
        "| command | wall (ms) |",
        "|---|---|",
        f"| `rpprof run empty.py` | {r['rpprof_run_ms']:.1f} |",
        f"| `python3 -c pass` (CPython {platform.python_version()}) | {r['python3_ms']:.1f} |",
    ])


WORKLOADS = ROOT / "benches" / "workloads"


def overhead_pair(script_args, rate, rounds, extra=()):
    """Median ratios record/run (wall and CPU) of `rounds` alternating pairs."""
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "p.folded")
        record = [str(RPPROF), "record", "-r", str(rate), *extra, "-o", out, *script_args]
        plain = [str(RPPROF), "run", *script_args]
        rec, base = paired(record, plain, rounds)
    wall = [r[0] / b[0] for r, b in zip(rec, base)]
    cpu = [r[1] / b[1] for r, b in zip(rec, base)]
    return {
        "run_wall_s": median([b[0] for b in base]),
        "wall_ratio": median(wall),
        "cpu_ratio": median(cpu),
        "wall_ratio_min": min(wall),
        "wall_ratio_max": max(wall),
    }


def bench_overhead():
    """`record` vs `run` on a CPU-bound script (one thread, depth 30), pair by pair."""
    script = [str(WORKLOADS / "cpu_bound.py"), "15000000", "1", "30"]
    return {str(rate): overhead_pair(script, rate, rounds=15) for rate in (99, 999)}


def render_overhead(r):
    rows = [
        "## Overhead of `record` vs `run`",
        "",
        "`benches/workloads/cpu_bound.py 15000000 1 30`: one thread, a pure-Python loop at",
        "depth 30. Fifteen pairs per rate, `record` and `run` alternating; ratios are",
        "profiled / unprofiled per pair, median (min-max) over the pairs.",
        "",
        "| rate | `run` wall (s) | wall ratio | CPU ratio | target |",
        "|---|---|---|---|---|",
    ]
    targets = {"99": "<= 1.01", "999": "<= 1.05"}
    for rate, v in r.items():
        if rate.startswith("_"):
            continue
        rows.append(
            f"| {rate} Hz | {v['run_wall_s']:.2f} | {v['wall_ratio']:.3f} "
            f"({v['wall_ratio_min']:.3f}-{v['wall_ratio_max']:.3f}) | {v['cpu_ratio']:.3f} | {targets.get(rate, '')} |"
        )
    return "\n".join(rows)


def bench_wall_idle():
    """Wall mode at 99 Hz with 8 and 64 threads, all but one mostly idle, vs `run`."""
    results = {}
    for threads in (8, 64):
        script = [str(WORKLOADS / "idle_threads.py"), "15000000", str(threads)]
        results[str(threads)] = overhead_pair(script, 99, rounds=9, extra=("--mode", "wall"))
    return results


def render_wall_idle(r):
    rows = [
        "## Wall mode with mostly idle threads",
        "",
        "`benches/workloads/idle_threads.py 15000000 N`: the main thread computes while N-1",
        "threads sleep in 50 ms naps. `record --mode wall -r 99` vs `run`, nine alternating",
        "pairs, median (min-max) of the per-pair ratios. Every thread is sampled 99 times a",
        "second; the ticker signals only threads that ran since their last sample and",
        "repeats the last stack of the others without waking them.",
        "",
        "| threads | `run` wall (s) | wall ratio | CPU ratio |",
        "|---|---|---|---|",
    ]
    for threads, v in r.items():
        if threads.startswith("_"):
            continue
        rows.append(
            f"| {threads} | {v['run_wall_s']:.2f} | {v['wall_ratio']:.3f} "
            f"({v['wall_ratio_min']:.3f}-{v['wall_ratio_max']:.3f}) | {v['cpu_ratio']:.3f} |"
        )
    return "\n".join(rows)


HANDLER_LINE = re.compile(
    r"handler time min (\d+) / median (\d+) / p99 (\d+) / max (\d+) ns over (\d+) samples"
)


def handler_times(rate, depth, rounds=3):
    """Handler time reported by `record --verbose`, medians over a few runs."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            done = subprocess.run(
                [str(RPPROF), "record", "-v", "-r", str(rate), "-o", str(Path(tmp) / "p.folded"),
                 str(WORKLOADS / "cpu_bound.py"), "8000000", "1", str(depth)],
                check=True, capture_output=True, text=True,
            )
            m = HANDLER_LINE.search(done.stderr)
            runs.append([int(x) for x in m.groups()])
    pick = lambda i: median([run[i] for run in runs])
    return {"min": pick(0), "median": pick(1), "p99": pick(2), "max": max(r[3] for r in runs),
            "samples": sum(r[4] for r in runs)}


def bench_handler():
    """SIGPROF handler time per sample at stack depth 30 and 200, at 99 and 999 Hz."""
    return {f"{depth}@{rate}": handler_times(rate, depth) for depth in (30, 200) for rate in (99, 999)}


def render_handler(r):
    rows = [
        "## SIGPROF handler time per sample",
        "",
        "From the sampler's own histogram (`record --verbose`), on `cpu_bound.py` with the",
        "loop at the given stack depth; median of three runs (max: the largest seen).",
        "Target: median <= 2 us, p99 <= 10 us at depth 30.",
        "",
        "| depth | rate | samples | min (ns) | median (ns) | p99 (ns) | max (ns) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, v in r.items():
        if key.startswith("_"):
            continue
        depth, rate = key.split("@")
        rows.append(f"| {depth} | {rate} Hz | {v['samples']} | {v['min']:.0f} | {v['median']:.0f} | {v['p99']:.0f} | {v['max']} |")
    return "\n".join(rows)


SECTIONS = {
    "startup": (bench_startup, render_startup),
    "overhead": (bench_overhead, render_overhead),
    "handler": (bench_handler, render_handler),
    "wall_idle": (bench_wall_idle, render_wall_idle),
}


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
    if wanted:
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
    OUT.write_text("\n".join(parts) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
