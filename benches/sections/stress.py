"""Stress: 64 busy threads sampled at 10 kHz for about a minute (RPPROF_STRESS_SECONDS):
exit status, samples, drops, handler time, profile size.
"""

import os
import subprocess
import tempfile
import time
from pathlib import Path

from harness import RPPROF, WORKLOADS, DROPPED, HANDLER_LINE, found_int


def timers_held(pid):
    try:
        return sum(1 for line in Path(f"/proc/{pid}/timers").read_text().splitlines() if line.startswith("ID:"))
    except OSError:
        return -1


def stress_run(out, cpu_seconds, before=(), verbose=False):
    """`record -r 10000` of 64 busy threads sharing `cpu_seconds`, run under `before` (a
    command prefix such as valgrind); returns the finished process and its wall seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [*before, str(RPPROF), "record", *(["-v"] if verbose else []), "-r", "10000", "-o", str(out),
         str(WORKLOADS / "busy_threads.py"), "64", str(cpu_seconds)],
        capture_output=True, text=True,
    )
    return done, time.monotonic() - started


def bench_stress():
    """64 busy threads sampled at 10 kHz for a minute: drops, handler time, timers, crash-free."""
    seconds = int(os.environ.get("RPPROF_STRESS_SECONDS", "60"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stress.pb.gz"
        done, wall = stress_run(out, 2 * seconds, verbose=True)
        size = out.stat().st_size if out.exists() else 0
    return {
        "seconds": wall,
        "status": done.returncode,
        "samples": found_int(HANDLER_LINE, done.stderr, 5, 0),
        "handler_median_ns": found_int(HANDLER_LINE, done.stderr, 2, 0),
        "handler_p99_ns": found_int(HANDLER_LINE, done.stderr, 3, 0),
        "dropped": found_int(DROPPED, done.stderr),
        "profile_bytes": size,
    }


def render_stress(r):
    return "\n".join([
        "## Stress: 64 threads at 10 kHz",
        "",
        "`record -r 10000` on `busy_threads.py 64` (64 threads burning CPU for about a minute",
        "on two cores). The counting-allocator test (`tests/handler_allocation.rs`) runs the",
        "same configuration briefly on every test run. Samples are handler runs: above 250 Hz",
        "a thread waiting for a core is not woken, and the sample it takes when it runs again",
        "carries the periods it missed, so the profile's total stays CPU-seconds x rate (Fidelity",
        "checks that). Handler times are wall-clock: with 32 threads per core, about one handler",
        "run in a hundred is preempted by the scheduler half-way, so p99 and max here measure a",
        "time slice, not the handler's work (the median is the handler).",
        "",
        "| wall (s) | exit status | samples | dropped | handler median (ns) | handler p99 (ns) | profile |",
        "|---|---|---|---|---|---|---|",
        f"| {r['seconds']:.0f} | {r['status']} | {r['samples']} | {r['dropped']} | {r['handler_median_ns']} | "
        f"{r['handler_p99_ns']} | {r['profile_bytes'] / 1e3:.0f} kB |",
    ])
