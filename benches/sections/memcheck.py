"""Memory errors: the stress configuration (64 threads, 10 kHz) under valgrind's memcheck,
for RPPROF_MEMCHECK_SECONDS of CPU (48 by default), with `benches/rustpython.supp`.
"""

import os
import re
import tempfile
from pathlib import Path

from harness import ROOT, SUMMARY_SAMPLES, DROPPED, found_int
from sections.stress import stress_run


MEMCHECK_SUMMARY = re.compile(r"ERROR SUMMARY: (\d+) errors from (\d+) contexts \(suppressed: (\d+)")


def bench_memcheck():
    """The stress configuration (64 threads, 10 kHz) under valgrind's memcheck."""
    cpu_seconds = float(os.environ.get("RPPROF_MEMCHECK_SECONDS", "48"))
    valgrind = ["valgrind", "--tool=memcheck", "--error-exitcode=9",
                f"--suppressions={ROOT / 'benches' / 'rustpython.supp'}"]
    with tempfile.TemporaryDirectory() as tmp:
        done, wall = stress_run(Path(tmp) / "memcheck.pb.gz", cpu_seconds, before=valgrind)
    return {
        "seconds": wall,
        "cpu_seconds": cpu_seconds,
        "status": done.returncode,
        "errors": found_int(MEMCHECK_SUMMARY, done.stderr, 1),
        "suppressed": found_int(MEMCHECK_SUMMARY, done.stderr, 3),
        "samples": found_int(SUMMARY_SAMPLES, done.stderr, 1, 0),
        "dropped": found_int(DROPPED, done.stderr),
    }


def render_memcheck(r):
    return "\n".join([
        "## Memory errors (valgrind memcheck)",
        "",
        "The sanitizers and Miri need a nightly toolchain, which these machines do not have;",
        "valgrind's memcheck checks the release binary instead, in the stress configuration:",
        f"`record -r 10000` of `busy_threads.py 64 {r['cpu_seconds']:.0f}` (64 threads sharing",
        f"{r['cpu_seconds']:.0f} s of CPU as valgrind counts it), with handler, rings, drain,",
        "aggregation and the pprof writer all running. Valgrind runs one thread at a time, so",
        "this is the ordering stress of many threads, not their parallelism.",
        "`benches/rustpython.supp` suppresses one report inside RustPython's own start-up",
        "(`class::add_operators`), before any rpprof code runs.",
        "",
        "| wall under valgrind (s) | exit status | errors | suppressed (RustPython) | samples | dropped |",
        "|---|---|---|---|---|---|",
        f"| {r['seconds']:.0f} | {r['status']} | {r['errors']} | {r['suppressed']} | {r['samples']} | "
        f"{r['dropped']} |",
    ])
