"""Overhead of `record` vs `run` on CPU-bound workloads (pure Python on 1 to 64 threads,
allocation-heavy, a deep stack) at 99 and 999 Hz: seven alternating pairs, wall and CPU
ratios; and the profiler's own CPU as a share of the program's, from `record --verbose`.
"""

import subprocess
import tempfile
from pathlib import Path

from harness import RPPROF, WORKLOADS, overhead_pair, TELEMETRY_LINE, figures


def profiler_share(script_args, rate, extra=()):
    """The profiler's own CPU (handlers, ticker, drain, aggregation) as a share of the
    program's, from `record --verbose`."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [str(RPPROF), "record", "-v", "-r", str(rate), *extra, "-o", str(Path(tmp) / "p.folded"), *script_args],
            check=True, capture_output=True, text=True,
        )
    m = TELEMETRY_LINE.search(done.stderr)
    return float(m.group(2))


# (name, script arguments): per-thread iterations keep each run near 3 s on two cores.
OVERHEAD_CASES = [
    ("pure Python, 1 thread", ["cpu_bound.py", "15000000", "1", "30"]),
    ("pure Python, 2 threads", ["cpu_bound.py", "15000000", "2", "30"]),
    ("pure Python, 8 threads", ["cpu_bound.py", "3750000", "8", "30"]),
    ("pure Python, 64 threads", ["cpu_bound.py", "470000", "64", "30"]),
    ("allocation-heavy, 1 thread", ["alloc_heavy.py", "60"]),
    ("deep stack (200), 1 thread", ["cpu_bound.py", "15000000", "1", "200"]),
]


def bench_overhead():
    """`record` vs `run` on CPU-bound scripts, pair by pair, at 99 and 999 Hz."""
    results = {}
    for name, args in OVERHEAD_CASES:
        script = [str(WORKLOADS / args[0]), *args[1:]]
        for rate in (99, 999):
            cell = overhead_pair(script, rate, rounds=7)
            cell["profiler_cpu_pct"] = profiler_share(script, rate)
            results[f"{name} @ {rate}"] = cell
    return results


def render_overhead(r):
    rows = [
        "## Overhead of `record` vs `run`",
        "",
        "Each row: seven pairs, `record` and `run` alternating; ratios are profiled /",
        "unprofiled per pair, median (min-max) over the pairs. These machines are shared: a",
        "single run varies by +-10%, so the end-to-end ratios carry that noise. The last",
        "column is steadier: the CPU the profiler's own work took (signal handlers, counted as",
        "median time x samples, ticker, drain, aggregation, from `record --verbose`) as a share",
        "of the program's CPU; it leaves out the kernel's cost of delivering the signals. The",
        "in-process A/B section below measures that too.",
        "Targets: ratio <= 1.01 at 99 Hz, <= 1.05 at 999 Hz.",
        "",
        "| workload | rate | `run` wall (s) | wall ratio | CPU ratio | profiler CPU |",
        "|---|---|---|---|---|---|",
    ]
    for key, v in figures(r):
        name, rate = key.split(" @ ")
        share = f"{v['profiler_cpu_pct']:.2f}%" if "profiler_cpu_pct" in v else "-"
        rows.append(
            f"| {name} | {rate} Hz | {v['run_wall_s']:.2f} | {v['wall_ratio']:.3f} "
            f"({v['wall_ratio_min']:.3f}-{v['wall_ratio_max']:.3f}) | {v['cpu_ratio']:.3f} | {share} |"
        )
    return "\n".join(rows)
