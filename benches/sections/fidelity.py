"""Fidelity: samples against CPU-seconds x rate, over all threads and per thread, with 2, 8
and 64 busy threads (`busy_threads.py`) at 99 and 999 Hz.
"""

import subprocess
import tempfile
from pathlib import Path

from harness import RPPROF, WORKLOADS, read_folded_totals, figures


def fidelity_run(threads, rate, cpu_budget=8.0):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "f.folded"
        done = subprocess.run(
            [str(RPPROF), "record", "-r", str(rate), "-o", str(out),
             str(WORKLOADS / "busy_threads.py"), str(threads), str(cpu_budget)],
            check=True, capture_output=True, text=True,
        )
        totals = read_folded_totals(out)
    cpu = {}
    for line in done.stdout.splitlines():
        _, name, seconds = line.split()
        cpu[name] = float(seconds)
    per_thread = [totals.get(name, 0) / (seconds * rate) for name, seconds in cpu.items()]
    total = sum(totals.get(name, 0) for name in cpu) / (sum(cpu.values()) * rate)
    return {"threads": threads, "rate": rate, "cpu_s": sum(cpu.values()), "ratio": total,
            "thread_min": min(per_thread), "thread_max": max(per_thread)}


def bench_fidelity():
    """Samples vs CPU-seconds x rate with 2, 8 and 64 busy threads at 99 and 999 Hz."""
    return {f"{n}@{rate}": fidelity_run(n, rate) for n in (2, 8, 64) for rate in (99, 999)}


def render_fidelity(r):
    rows = [
        "## Fidelity",
        "",
        "`benches/workloads/busy_threads.py N 8`: N threads burn 8 CPU-seconds between them;",
        "each reports its own CPU time (`time.thread_time`). Ratio = samples / (CPU seconds x",
        "rate), over all threads and per thread (min-max). Targets: total within +-5%, every",
        "thread within +-20%.",
        "",
        "| threads | rate | CPU s | total ratio | per-thread ratio (min-max) |",
        "|---|---|---|---|---|",
    ]
    for key, v in sorted(figures(r), key=lambda kv: (kv[1]["threads"], kv[1]["rate"])):
        rows.append(f"| {v['threads']} | {v['rate']} Hz | {v['cpu_s']:.2f} | {v['ratio']:.3f} | "
                    f"{v['thread_min']:.3f}-{v['thread_max']:.3f} |")
    return "\n".join(rows)
