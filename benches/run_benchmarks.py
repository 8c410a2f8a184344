#!/usr/bin/env python3
"""Regenerates BENCHMARKS.md: every figure in it comes from this script.

    python3 benches/run_benchmarks.py            # all sections
    python3 benches/run_benchmarks.py startup    # only some sections (others are kept)

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
        ours, cpython = paired([str(RPPROF), "run", str(empty)], ["python3", "-c", "pass"], rounds)
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


SECTIONS = {
    "startup": (bench_startup, render_startup),
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
    wanted = sys.argv[1:] or list(SECTIONS)
    unknown = [w for w in wanted if w not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
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
