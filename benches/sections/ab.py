"""In-process A/B overhead: `benches/workloads/ab_overhead.py` does the same chunk of work
with sampling on and off in one process, in random order, and compares the sampled thread's
own CPU time chunk by chunk (99 and 999 Hz CPU mode, 99 Hz wall mode).
"""

import json
import subprocess

from harness import RPPROF, WORKLOADS, figures


def bench_ab():
    """In-process A/B: the sampled thread's own slowdown, sampling on vs off, alternating."""
    results = {}
    for rate, mode in ((99, "cpu"), (999, "cpu"), (99, "wall")):
        done = subprocess.run(
            [str(RPPROF), "run", str(WORKLOADS / "ab_overhead.py"), str(rate), mode, "40"],
            check=True, capture_output=True, text=True,
        )
        results[f"{rate}-{mode}"] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def render_ab(r):
    rows = [
        "## In-process A/B overhead",
        "",
        "`rpprof run benches/workloads/ab_overhead.py RATE MODE 40`: one process does the same",
        "chunk of work (a loop at depth 30, about 0.15 s) forty times with sampling on",
        "(`rpprof.start()`) and forty times off, in random order, and compares the thread's",
        "own CPU time chunk by chunk. The machine's drift hits both halves of a pair alike, so",
        "this resolves what end-to-end runs cannot: the cost sampling adds to the sampled",
        "thread itself (signal delivery, handler). The background threads (drain,",
        "aggregation) run on other threads and are in the profiler-CPU column above.",
        "",
        "| rate | mode | rounds | median ratio | middle half |",
        "|---|---|---|---|---|",
    ]
    for key, v in figures(r):
        rows.append(f"| {v['rate']} Hz | {v['mode']} | {v['rounds']} | {v['median']:.4f} | "
                    f"{v['p25']:.4f}-{v['p75']:.4f} |")
    return "\n".join(rows)
