"""Start-up: `rpprof run` and `rpprof record` (writing an SVG) on an empty script, and
`python3 -c pass`, as median wall times of alternating runs; `record` minus `run`, pair by
pair.
"""

import platform
import sys
import tempfile
from pathlib import Path

from harness import RPPROF, paired, median


def bench_startup():
    """Start-up of `rpprof run` and `rpprof record` on an empty script, and `python3 -c pass`."""
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.py"
        empty.write_text("")
        out = str(Path(tmp) / "p.svg")
        rounds = 30
        ours, cpython = paired([str(RPPROF), "run", str(empty)], [sys.executable, "-c", "pass"], rounds)
        runs, records = paired([str(RPPROF), "run", str(empty)],
                               [str(RPPROF), "record", "-o", out, str(empty)], rounds)
    return {
        "rounds": rounds,
        "rpprof_run_ms": median([w for w, _ in ours]) * 1000,
        "python3_ms": median([w for w, _ in cpython]) * 1000,
        "record_minus_run_ms": median([r[0] - u[0] for r, u in zip(records, runs)]) * 1000,
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
        "",
        f"`rpprof record` (writing an SVG) minus `rpprof run` on the same empty script, median of",
        f"the per-pair differences: {r.get('record_minus_run_ms', float('nan')):.1f} ms (target: within 10 ms).",
    ])
