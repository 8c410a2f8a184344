"""Wait naming and `--native`: handler time with wait naming and with `--native`, against a
baseline build when RPPROF_BASELINE names one; the CPU cost of `--native` as alternating
`record` pairs.
"""

import os
import subprocess
import tempfile
from pathlib import Path

from harness import RPPROF, WORKLOADS, paired, median, HANDLER_LINE


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
