"""`--subprocesses`: `record --subprocesses` on a 4-process `Pool.map` (spawn and fork) vs
`run` at 99 Hz; the share of each worker's CPU that reaches the parent's profile; and what
a profiled fork costs.
"""

import json
import re
import subprocess
import tempfile
from pathlib import Path

from harness import RPPROF, WORKLOADS, paired, median, overhead_pair


def child_work_shares(script_args, rate):
    """Per worker of `pool_map.py`: CPU seconds sampled in `work` under its process root
    (folded, `--value cpu`) / CPU seconds it measured there itself."""
    with tempfile.TemporaryDirectory() as tmp:
        folded = Path(tmp) / "p.folded"
        done = subprocess.run(
            [str(RPPROF), "record", "--subprocesses", "-r", str(rate), "--value", "cpu",
             "-o", str(folded), *script_args],
            check=True, capture_output=True, text=True,
        )
        measured = {int(pid): cpu for pid, cpu in json.loads(done.stdout).items()}
        sampled = {}
        for line in folded.read_text().splitlines():
            if line.startswith("#"):  # our header line
                continue
            stack, value = line.rsplit(" ", 1)
            m = re.match(r"python-child \(pid (\d+)\)", stack)
            if m and ";work (" in stack:
                pid = int(m.group(1))
                sampled[pid] = sampled.get(pid, 0) + int(value) / 1e9
    return [sampled.get(pid, 0.0) / cpu for pid, cpu in measured.items() if cpu > 0]


# Four workers on two cores: about 4 s of CPU, 2 s of wall.
POOL_ITERATIONS, POOL_ITEMS = "1200000", "8"


FORKS = 40


def fork_cost_ms():
    """Wall milliseconds per `os.fork()` + `os._exit(0)` child, `record --subprocesses` minus
    `record` (the child's own session start and final delivery), median over 7 pairs."""
    script = [str(WORKLOADS / "fork_many.py"), str(FORKS)]
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "p.folded")
        profiled, plain = paired(
            [str(RPPROF), "record", "--subprocesses", "-o", out, *script],
            [str(RPPROF), "record", "-o", out, *script],
            7,
        )
    return {
        "per_fork_ms": median([(p[0] - b[0]) / FORKS * 1000 for p, b in zip(profiled, plain)]),
        "plain_per_fork_ms": median([b[0] / FORKS * 1000 for b in plain]),
    }


def bench_subprocesses():
    """`record --subprocesses` on a 4-process Pool.map (spawn and fork) vs `run`, at 99 Hz;
    the share of each worker's CPU in `work` that reaches the parent's profile; and what a
    profiled fork costs."""
    results = {}
    for method in ("spawn", "fork"):
        script = [str(WORKLOADS / "pool_map.py"), method, POOL_ITERATIONS, POOL_ITEMS]
        results[f"subprocesses @ 99 {method}"] = overhead_pair(
            script, 99, rounds=7, extra=("--subprocesses",))
        results[f"record only @ 99 {method}"] = overhead_pair(script, 99, rounds=7)
        shares = [s for _ in range(3) for s in child_work_shares(script, 99)]
        results[f"shares {method}"] = {
            "median": median(shares),
            "min": min(shares),
            "max": max(shares),
            "workers": len(shares),
        }
    results["fork cost"] = fork_cost_ms()
    return results


def render_subprocesses(r):
    rows = [
        "## `--subprocesses`: a 4-process `Pool.map`",
        "",
        "`benches/workloads/pool_map.py`: four workers (spawned, or forked) share eight items of",
        "pure-Python CPU work on two cores. Seven pairs each, alternating with `run`; ratios are",
        "per pair, median (min-max). `record` alone profiles only the parent, which mostly",
        "waits; `--subprocesses` profiles the workers too, each delivering a pprof slice a",
        "second. Target: ratio <= 1.03 at 99 Hz.",
        "",
        "| start method | command | rate | `run` wall (s) | wall ratio | CPU ratio |",
        "|---|---|---|---|---|---|",
    ]
    for method in ("spawn", "fork"):
        for name in ("record only", "subprocesses"):
            v = r.get(f"{name} @ 99 {method}")
            if v is None:
                continue
            command = "`record --subprocesses`" if name == "subprocesses" else "`record`"
            rows.append(
                f"| {method} | {command} | 99 Hz | {v['run_wall_s']:.2f} | {v['wall_ratio']:.3f} "
                f"({v['wall_ratio_min']:.3f}-{v['wall_ratio_max']:.3f}) | {v['cpu_ratio']:.3f} |"
            )
    rows += [
        "",
        "Each worker's CPU seconds in `work` (its own `time.process_time()`) that reached the",
        "parent's profile under its process root, over the workers of three runs (target >= 0.95):",
        "",
        "| start method | workers | median | min | max |",
        "|---|---|---|---|---|",
    ]
    for method in ("spawn", "fork"):
        s = r.get(f"shares {method}")
        if s:
            rows.append(f"| {method} | {s['workers']} | {s['median']:.3f} | {s['min']:.3f} | "
                        f"{s['max']:.3f} |")
    f = r.get("fork cost")
    if f:
        rows += [
            "",
            f"A profiled fork (`benches/workloads/fork_many.py {FORKS}`: fork, `os._exit(0)`,",
            "wait, one after another) costs the child its own session start, a final",
            f"delivery and its end: {f['per_fork_ms']:.1f} ms more per fork than under `record`",
            f"without the flag ({f['plain_per_fork_ms']:.1f} ms per fork there), median of 7 pairs.",
        ]
    return "\n".join(rows)
