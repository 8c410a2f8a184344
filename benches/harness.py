"""What the benchmark sections share: the binary measured (RPPROF_BINARY, or the release
build) and the workloads, timing runs in alternating pairs and the medians and ratios of
those pairs, the lines of `record --verbose` (handler time, profiler CPU, drops), folded
files, HTTP requests and resident memory.
"""

import os
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
# RPPROF_BINARY measures another build (a profile being tried) without building;
# otherwise the release build in CARGO_TARGET_DIR (or target/).
RPPROF = Path(os.environ.get(
    "RPPROF_BINARY",
    Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "rpprof",
))

RESULTS = ROOT / "benches" / "results.json"


def build_profile():
    """Which build is measured, in words for BENCHMARKS.md: `RPPROF_BINARY`'s path, or the
    release profile with the `CARGO_PROFILE_RELEASE_*` overrides this run's cargo build
    took (Cargo.toml's release profile is fat LTO, one codegen unit)."""
    if os.environ.get("RPPROF_BINARY"):
        return f"`RPPROF_BINARY` ({os.environ['RPPROF_BINARY']})"
    overrides = sorted(f"`{k}={v}`" for k, v in os.environ.items()
                       if k.startswith("CARGO_PROFILE_RELEASE_"))
    if not overrides:
        return "release profile (fat LTO, one codegen unit)"
    return ("release profile with " + ", ".join(overrides)
            + " (Cargo.toml's is fat LTO, one codegen unit)")


WORKLOADS = ROOT / "benches" / "workloads"


def timed(cmd, stdout=subprocess.DEVNULL):
    """Wall seconds and child CPU seconds of one run."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=stdout, stderr=subprocess.DEVNULL)
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


def ratio_of_pairs(profiled, plain, rounds):
    rec, base = paired(profiled, plain, rounds)
    return {
        "plain_wall_s": median([b[0] for b in base]),
        "wall_ratio": median([r[0] / b[0] for r, b in zip(rec, base)]),
        "cpu_ratio": median([r[1] / b[1] for r, b in zip(rec, base)]),
    }


TELEMETRY_LINE = re.compile(r"profiler CPU ([0-9.]+) ms .* = ([0-9.]+)% of the program's")
SUMMARY_SAMPLES = re.compile(r"rpprof: (\d+) samples")
DROPPED = re.compile(r"(\d+) dropped")

HANDLER_LINE = re.compile(
    r"handler time min (\d+) / median (\d+) / p99 (\d+) / max (\d+) ns over (\d+) samples"
)


def found_int(pattern, text, group=1, default=-1):
    """An integer the pattern finds in text, or the default where it finds none."""
    m = pattern.search(text)
    return int(m.group(group)) if m else default


def read_folded_totals(path):
    """Samples per thread name in a folded file of ours."""
    totals = {}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):  # our header line
            continue
        stack, count = line.rsplit(" ", 1)
        root = stack.split(";", 1)[0]
        name = root.rsplit(" (tid ", 1)[0]
        totals[name] = totals.get(name, 0) + int(count)
    return totals


def http_get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def figures(r):
    """A section's measured entries: its (key, value) pairs without the `_measured`-style
    bookkeeping keys."""
    return [(k, v) for k, v in r.items() if not k.startswith("_")]
