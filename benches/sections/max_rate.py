"""Highest sustainable rate: drops, samples per CPU-second, fidelity, profiler CPU and
handler time with 2 busy threads from 1 kHz to 20 kHz.
"""

import subprocess
import tempfile
from pathlib import Path

from harness import (
    RPPROF, WORKLOADS, TELEMETRY_LINE, DROPPED, HANDLER_LINE, read_folded_totals, figures,
)


def max_rate_run(rate):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "f.folded"
        done = subprocess.run(
            [str(RPPROF), "record", "-v", "-r", str(rate), "-o", str(out),
             str(WORKLOADS / "busy_threads.py"), "2", "4"],
            check=True, capture_output=True, text=True,
        )
        totals = read_folded_totals(out)
    cpu = sum(float(line.split()[2]) for line in done.stdout.splitlines())
    handler = HANDLER_LINE.search(done.stderr)
    taken = int(handler.group(5))
    dropped = int(DROPPED.search(done.stderr).group(1))
    return {
        "rate": rate,
        "signals_per_cpu_s": taken / cpu,
        "drop_pct": 100.0 * dropped / max(1, taken + dropped),
        "ratio": sum(totals.get(f"busy-{i}", 0) for i in range(2)) / (cpu * rate),
        "profiler_cpu_pct": float(TELEMETRY_LINE.search(done.stderr).group(2)),
        "handler_median_ns": int(handler.group(2)),
    }


def bench_max_rate():
    """Drops, fidelity and cost with 2 busy threads from 1 kHz to 20 kHz."""
    return {str(rate): max_rate_run(rate) for rate in (1000, 2000, 5000, 10000, 20000)}


def render_max_rate(r):
    rows = [
        "## Highest sustainable rate",
        "",
        "`busy_threads.py 2 4` (two busy threads, 4 CPU-seconds) at rising rates. Drops are",
        "samples lost to a full ring; samples/CPU-s counts handler runs per CPU second of the",
        "program (the rate it kept up); ratio as in Fidelity. Target: drops under 1% at",
        ">= 10 kHz.",
        "",
        "| rate | samples per CPU-s | drops | ratio | profiler CPU | handler median (ns) |",
        "|---|---|---|---|---|---|",
    ]
    for key, v in sorted(figures(r), key=lambda kv: kv[1]["rate"]):
        rows.append(f"| {v['rate']} Hz | {v['signals_per_cpu_s']:.0f} | {v['drop_pct']:.2f}% | "
                    f"{v['ratio']:.3f} | {v['profiler_cpu_pct']:.2f}% | {v['handler_median_ns']} |")
    return "\n".join(rows)
