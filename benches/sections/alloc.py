"""Allocation profiling: the error of `record --alloc` at the default interval over 20 runs
of `tests/scripts/memory.py`, its cost (end to end, in process, the hook alone), and memray
and tracemalloc side by side on `benches/workloads/alloc_shares.py`.
"""

import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import ROOT, RPPROF, WORKLOADS, timed, paired, median, ratio_of_pairs


MEMORY = ROOT / "tests" / "scripts" / "memory.py"
ALLOC_SHARES = WORKLOADS / "alloc_shares.py"
MEMORY_PEERS_VENV = ROOT / "target" / "memory-peers-venv"
MEMORY_PEER_PACKAGES = ["memray==1.20.0"]
MIB = 1024 * 1024
# Per function of memory.py / alloc_shares.py: MiB allocated and MiB kept at the end.
ALLOCATED_MIB = {"leak_some": 200, "churn": 100, "big": 60, "medium": 30, "small": 10}
KEPT_MIB = {"big": 60, "medium": 30, "leak_some": 20, "small": 10, "churn": 0}
BLOCK = 16 * 1024


def folded_by_function(path, names):
    """Per function name: the value of stacks holding a frame of it (folded, ours)."""
    totals = {name: 0 for name in names}
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):  # our header line
            continue
        stack, count = line.rsplit(" ", 1)
        frames = {frame.split(" (", 1)[0] for frame in stack.split(";")}
        for name in names:
            if name in frames:
                totals[name] += int(count)
    return totals


def record_alloc_values(script_args, interval=None, tmp=None):
    """`record --alloc` of a script; (alloc_space, inuse_space) by function, in bytes."""
    pb = Path(tmp) / "a.pb.gz"
    extra = ["--alloc-interval", str(interval)] if interval else ["--alloc"]
    subprocess.run([str(RPPROF), "record", *extra, "-o", str(pb), *script_args],
                   check=True, capture_output=True)
    out = {}
    for kind in ("alloc_space", "inuse_space"):
        folded = Path(tmp) / f"{kind}.folded"
        subprocess.run([str(RPPROF), "report", str(pb), "--value", kind, "-o", str(folded)],
                       check=True, capture_output=True)
        out[kind] = folded_by_function(folded, list(ALLOCATED_MIB))
    return out


def predicted_sd_mib(mib, interval):
    """Standard deviation of a sampled total of `mib` MiB in 16 KiB blocks at `interval`:
    sqrt(n s^2 (1 - p) / p), p = 1 - exp(-s / interval); about sqrt(bytes x interval)."""
    import math
    n = mib * MIB / BLOCK
    p = -math.expm1(-BLOCK / interval)
    return math.sqrt(n * BLOCK * BLOCK * (1 - p) / p) / MIB


def bench_alloc():
    """Allocation profiling: error at the default interval over 20 runs, cost (end to end,
    in process, the hook alone), and memray and tracemalloc side by side."""
    results = {}
    interval = 512 * 1024
    # 1. Error over 20 runs of memory.py at the default interval.
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(20):
            runs.append(record_alloc_values([str(MEMORY)], tmp=tmp))
    errors = {}
    for kind, truth in (("inuse_space", KEPT_MIB), ("alloc_space", ALLOCATED_MIB)):
        for name, mib in truth.items():
            if mib == 0:
                continue
            values = [r[kind][name] / MIB for r in runs]
            rms = statistics.mean([(v - mib) ** 2 for v in values]) ** 0.5
            errors[f"{kind} {name}"] = {
                "true_mib": mib,
                "mean_mib": statistics.mean(values),
                "sd_mib": statistics.stdev(values),
                "rms_error_mib": rms,
                "predicted_sd_mib": predicted_sd_mib(mib, interval),
            }
    churn_inuse = [r["inuse_space"]["churn"] / MIB for r in runs]
    results["errors"] = errors
    results["churn_inuse_max_mib"] = max(churn_inuse)
    share_errors = []
    for r in runs:
        kept = {n: r["inuse_space"][n] for n in ("big", "medium", "small")}
        total = sum(kept.values()) or 1
        share_errors.append(max(abs(100 * kept[n] / total - t) for n, t in (("big", 60), ("medium", 30), ("small", 10))))
    results["share_error_points_median"] = statistics.median(share_errors)
    results["share_error_points_max"] = max(share_errors)

    # 2. Cost end to end: record --alloc vs record, and record vs run, alloc-heavy script.
    heavy = [str(WORKLOADS / "alloc_heavy.py"), "60"]
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "p.pb.gz")
        with_alloc, without = paired(
            [str(RPPROF), "record", "--alloc", "-o", out, *heavy],
            [str(RPPROF), "record", "-o", out, *heavy], 9)
        results["end_to_end"] = {
            "pairs": 9,
            "wall_ratio": median([a[0] / b[0] for a, b in zip(with_alloc, without)]),
            "cpu_ratio": median([a[1] / b[1] for a, b in zip(with_alloc, without)]),
            "record_wall_s": median([b[0] for b in without]),
        }
        # Allocations per second of the workload, for the cost of the hook when off.
        done = subprocess.run([str(RPPROF), "record", "--alloc", "-o", out, *heavy],
                              check=True, capture_output=True, text=True)
        top = subprocess.run([str(RPPROF), "report", out, "--value", "alloc_objects", "--top", "1"],
                             check=True, capture_output=True, text=True).stdout
        allocations = int(top.split()[2])
    runs_wall = [timed([str(RPPROF), "run", *heavy])[0] for _ in range(3)]
    results["alloc_heavy_allocations_per_s"] = allocations / median(runs_wall)

    # 3. In process: Python chunks with and without allocation sampling.
    done = subprocess.run([str(RPPROF), "run", str(WORKLOADS / "ab_alloc.py"), "40"],
                          check=True, capture_output=True, text=True, cwd=WORKLOADS)
    results["ab"] = json.loads(done.stdout.strip().splitlines()[-1])

    # 4. The hook alone (benches/alloc_hook.rs), median of three runs.
    hook_runs = []
    for _ in range(3):
        done = subprocess.run(
            ["cargo", "bench", "--ignore-rust-version", "--quiet", "--bench", "alloc_hook"],
            cwd=ROOT, check=True, capture_output=True, text=True)
        hook_runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    results["hook"] = {key: median([run[key] for run in hook_runs]) for key in hook_runs[0]}

    # 5. Side by side on CPython: memray and tracemalloc.
    results["peers"] = bench_alloc_peers()
    return results


def memory_peers_venv():
    """A throwaway virtual environment with memray, on CPython (this interpreter)."""
    if not (MEMORY_PEERS_VENV / "bin" / "memray").exists():
        subprocess.run([sys.executable, "-m", "venv", str(MEMORY_PEERS_VENV)], check=True)
        subprocess.run([str(MEMORY_PEERS_VENV / "bin" / "pip"), "install", "-q", *MEMORY_PEER_PACKAGES],
                       check=True)
    return MEMORY_PEERS_VENV / "bin"


def function_of_line(script, lineno):
    import ast
    tree = ast.parse(Path(script).read_text())
    inner = [(n.lineno, n.end_lineno, n.name) for n in ast.walk(tree)
             if isinstance(n, ast.FunctionDef) and n.lineno <= lineno <= n.end_lineno]
    return min(inner, key=lambda f: f[1] - f[0])[2] if inner else "<module>"


def shares(values):
    total = sum(values.values()) or 1
    return {name: 100.0 * v / total for name, v in values.items()}


def bench_alloc_peers():
    """alloc_shares.py under rpprof (RustPython), memray and tracemalloc (CPython): each
    tool's shares of the five functions, and its overhead ratio (five alternating pairs)."""
    bin_dir = memory_peers_venv()
    python = str(bin_dir / "python")
    script = str(ALLOC_SHARES)
    rounds = "8"
    out = {"versions": MEMORY_PEER_PACKAGES + [f"CPython {platform.python_version()}"], "tools": {}}
    with tempfile.TemporaryDirectory() as tmp:
        values = record_alloc_values([script, "1"], tmp=tmp)
        overhead = ratio_of_pairs(
            [str(RPPROF), "record", "--alloc", "-o", str(Path(tmp) / "r.pb.gz"), script, rounds],
            [str(RPPROF), "run", script, rounds], 5)
        out["tools"]["rpprof --alloc (512 KiB)"] = {
            "allocated": shares(values["alloc_space"]), "in_use": shares(values["inuse_space"]),
            **overhead}
        result = Path(tmp) / "m.bin"
        subprocess.run([python, "-m", "memray", "run", "-q", "-f", "-o", str(result), script, "1"],
                       check=True, capture_output=True)
        stats = Path(tmp) / "stats.json"
        subprocess.run([python, "-m", "memray", "stats", "--json", "-f", "-o", str(stats), "-n", "5", str(result)],
                       check=True, capture_output=True)
        allocated = {name: 0 for name in ALLOCATED_MIB}
        for row in json.loads(stats.read_text())["top_allocations_by_size"]:
            lineno = int(row["location"].rsplit(":", 1)[1])
            name = function_of_line(script, lineno)
            if name in allocated:
                allocated[name] += row["size"]
        memray_out = str(Path(tmp) / "o.bin")
        overhead = ratio_of_pairs(
            [python, "-m", "memray", "run", "-q", "-f", "-o", memray_out, script, rounds],
            [python, script, rounds], 5)
        out["tools"]["memray run"] = {"allocated": shares(allocated), **overhead}
        done = subprocess.run([python, str(WORKLOADS / "tracemalloc_run.py"), script, "1"],
                              check=True, capture_output=True, text=True)
        live = json.loads(done.stderr.strip().splitlines()[-1])
        in_use = {name: live.get(name, 0) for name in ALLOCATED_MIB}
        overhead = ratio_of_pairs(
            [python, str(WORKLOADS / "tracemalloc_run.py"), script, rounds],
            [python, script, rounds], 5)
        out["tools"]["tracemalloc"] = {"in_use": shares(in_use), **overhead}
    return out


def render_alloc(r):
    rows = [
        "## Allocation profiling",
        "",
        "Accuracy at the default interval (512 KiB): `record --alloc` of",
        "`tests/scripts/memory.py` 20 times. Its functions allocate in 16 KiB blocks:",
        "`leak_some` 200 MiB (keeps 20), `churn` 100 MiB (keeps none), `big` 60, `medium` 30,",
        "`small` 10 MiB (kept). Estimated MiB per function, mean and standard deviation over",
        "the runs, RMS error against the nominal size, and the standard deviation sampling",
        "predicts, sqrt(n s^2 (1-p)/p) for n blocks of s bytes, p = 1 - exp(-s / 512 KiB)",
        "(about sqrt(bytes x interval)). Python's own small allocations around each block",
        "(the bytearray object) add about 1% to the true sizes.",
        "",
        "| value | function | nominal MiB | mean | sd | RMS error | predicted sd |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, v in r["errors"].items():
        kind, name = key.split(" ")
        rows.append(f"| {kind} | {name} | {v['true_mib']} | {v['mean_mib']:.1f} | {v['sd_mib']:.1f} | "
                    f"{v['rms_error_mib']:.1f} | {v['predicted_sd_mib']:.1f} |")
    rows += [
        "",
        f"`churn` in use at the end: at most {r['churn_inuse_max_mib']:.2f} MiB over the runs (it",
        "keeps nothing). Shares of `big` / `medium` / `small` in use (60/30/10): largest error",
        f"{r['share_error_points_median']:.1f} points in the median run, {r['share_error_points_max']:.1f} in the worst.",
        "At 512 KiB a 20 MiB total has a standard deviation of about 3 MiB (15%): +-10% needs",
        "a smaller interval (the tests use 32 KiB: 0.8 MiB, 4%).",
        "",
    ]
    e = r["end_to_end"]
    ab = r["ab"]
    h = r["hook"]
    off_cost = h["off_extra_ns"] * r["alloc_heavy_allocations_per_s"] / 1e9
    rows += [
        "Cost. Targets: `--alloc` <= 1.03 wall at 512 KiB; compiled in but off <= 1.005.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| `record --alloc` / `record`, `alloc_heavy.py 60` ({e['record_wall_s']:.1f} s), {e['pairs']} "
        f"alternating pairs, median | wall {e['wall_ratio']:.3f}, CPU {e['cpu_ratio']:.3f} | <= 1.03 |",
        f"| in process (`ab_alloc.py`): chunks of `alloc_heavy` with `rpprof.start(alloc=True)` / "
        f"`rpprof.start()`, {ab['rounds']} pairs | {ab['median']:.4f} (middle half {ab['p25']:.4f}-{ab['p75']:.4f}) | <= 1.03 |",
        f"| the hook alone, off: allocation + free through the wrapper / straight to the system "
        f"allocator (`benches/alloc_hook.rs`, sizes 16 B-4 KiB) | {h['off_ratio']:.4f} "
        f"({h['off_extra_ns']:+.2f} ns on {h['system_ns_per_op']:.1f} ns) | |",
        f"| the hook alone, on at 512 KiB | {h['on_ratio']:.4f} ({h['on_extra_ns']:+.2f} ns) | |",
        f"| off, on a program: extra ns per allocation x `alloc_heavy.py`'s "
        f"{r['alloc_heavy_allocations_per_s'] / 1e6:.1f} M allocations/s | {1 + off_cost:.4f} | <= 1.005 |",
        "",
        "The off cost is too small to see end to end on these machines (runs vary by +-10%),",
        "so it is measured where it is paid: per allocation, in process, alternating chunks,",
        "and multiplied by how often a real allocation-heavy program allocates. That makes it",
        "an upper bound: in a loop that does nothing but allocate, the counter's",
        "read-modify-write and the free path's flag load sit on the critical path; in a",
        "program they overlap with its other work. What the fast path is: `sub %size,",
        "%fs:COUNTER; js slow; jmp malloc` (and `free` loads one flag).",
        "",
    ]
    p = r["peers"]
    names = list(ALLOCATED_MIB)
    rows += [
        "Side by side (`benches/workloads/alloc_shares.py`, the same five functions;",
        f"{', '.join(p['versions'])}). Shares of what each tool attributes to the five functions:",
        "allocated (true 50 / 25 / 15 / 7.5 / 2.5%) or, for tracemalloc, which traces live",
        "blocks only, in use at the end (true: big 50, medium 25, leak_some 16.7, small 8.3,",
        "churn 0%). Overhead: profiled / unprofiled wall, 8 rounds, five alternating pairs, each",
        "tool on its own interpreter (rpprof on RustPython, the others on CPython).",
        "",
        "| tool | measures | " + " | ".join(names) + " | overhead (wall) |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    for tool, v in p["tools"].items():
        for measure in ("allocated", "in_use"):
            if measure in v:
                cells = " | ".join(f"{v[measure][n]:.1f}%" for n in names)
                rows.append(f"| {tool} | {measure.replace('_', ' ')} | {cells} | {v['wall_ratio']:.2f} |")
    return "\n".join(rows)
