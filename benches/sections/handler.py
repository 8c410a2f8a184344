"""SIGPROF handler time per sample, from the sampler's own histogram (`record --verbose`)
on `cpu_bound.py`, with the loop at stack depth 30 and 200, at 99 and 999 Hz.
"""

import subprocess
import tempfile
from pathlib import Path

from harness import RPPROF, WORKLOADS, median, HANDLER_LINE, figures


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
    for key, v in figures(r):
        depth, rate = key.split("@")
        rows.append(f"| {depth} | {rate} Hz | {v['samples']} | {v['min']:.0f} | {v['median']:.0f} | {v['p99']:.0f} | {v['max']} |")
    rows += [
        "",
        "The handler does the same work at every rate, yet its median falls as the rate rises:",
        "see also the 1-1.5 us medians at 1-20 kHz under Highest sustainable rate, and the",
        "minimum here, under 1 us. At 99 Hz a thread's samples are 10 ms apart, long enough",
        "for the program to evict the handler's code, its ring and the thread's frame chain",
        "from the caches, so the median sample pays for cache and TLB misses, not instructions",
        "(most of it is fixed cost: depth 200, seven times the frames, is not seven times slower).",
        "This VM has no hardware counters to attribute them; prefetching the next frame did",
        "not help. So at 99 Hz the median misses the 2 us target and the p99 can pass the",
        "10 us one, while the cost per second at 99 Hz stays small (profiler CPU in the",
        "overhead table: 0.1-0.3%). Max: a handler preempted by the scheduler (wall-clock).",
    ]
    return "\n".join(rows)
