"""The `speed` section of `benches/run_benchmarks.py` (`benches/sections/speed.py` calls
`measure` and `render`): pyperformance's pure-Python benchmarks under `rpprof run` and under
the machine's CPython, alternating; start-up and peak RSS of an empty script.

pyperformance is downloaded from PyPI at benchmark time into a cache directory (never
committed); its benchmarks run with `benches/speed/pyperf.py`, a stand-in for `pyperf`
that times a fixed number of loops after one warm-up call.
"""

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYPERFORMANCE = "1.11.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rpprof-bench"

# (benchmark, loops): loops keep each near 0.1-0.6 s on CPython. Pure Python only: no
# C accelerator on CPython's side that RustPython lacks (json, pickle, regex left out).
BENCHMARKS = [
    ("nbody", 1),
    ("deltablue", 20),
    ("richards", 3),
    ("float", 2),
    ("fannkuch", 1),
    ("nqueens", 2),
    ("chaos", 2),
    ("spectral_norm", 1),
    ("raytrace", 1),
    ("go", 1),
    ("generators", 2),
    ("hexiom", 10),
    ("pyflate", 1),
]


def benchmarks_dir():
    """pyperformance's benchmark directory, downloaded once into the cache."""
    target = CACHE / f"pyperformance-{PYPERFORMANCE}"
    benchmarks = target / "pyperformance" / "data-files" / "benchmarks"
    if benchmarks.is_dir():
        return benchmarks
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp,
             f"pyperformance=={PYPERFORMANCE}"],
            check=True,
        )
        wheel = next(Path(tmp).glob("pyperformance-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            z.extractall(target)
    return benchmarks


def timed_loops(command, directory, loops):
    """Seconds the benchmark's timed loops took (its own measurement, start-up excluded)."""
    env = dict(os.environ, PYTHONPATH=str(HERE), RPPROF_SPEED_LOOPS=str(loops))
    done = subprocess.run(command + ["run_benchmark.py"], cwd=directory, env=env,
                          check=True, capture_output=True, text=True)
    return sum(json.loads(line)["seconds"] for line in done.stdout.splitlines()
               if line.startswith("{"))


def peak_rss_kib(command):
    """Peak resident set size of one run, from wait4's rusage."""
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(child.pid, 0)
    return usage.ru_maxrss


def wall_ms(command):
    import time
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def measure(rpprof, rounds=5, startup_rounds=30):
    """Per benchmark: CPython and rpprof seconds (medians) and the median of per-pair
    ratios; their geometric mean; start-up and peak RSS of an empty script."""
    directory = benchmarks_dir()
    python = [sys.executable]
    ours = [str(rpprof), "run"]
    per = {}
    for _ in range(rounds):
        for name, loops in BENCHMARKS:
            where = directory / f"bm_{name}"
            c = timed_loops(python, where, loops)
            r = timed_loops(ours, where, loops)
            entry = per.setdefault(name, {"cpython": [], "rpprof": []})
            entry["cpython"].append(c)
            entry["rpprof"].append(r)
    table = {}
    for name, runs in per.items():
        ratios = [r / c for r, c in zip(runs["rpprof"], runs["cpython"])]
        table[name] = {
            "cpython_s": statistics.median(runs["cpython"]),
            "rpprof_s": statistics.median(runs["rpprof"]),
            "ratio": statistics.median(ratios),
        }
    geomean = math.exp(statistics.mean(math.log(t["ratio"]) for t in table.values()))
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.py"
        empty.write_text("")
        starts = [(wall_ms(ours + [str(empty)]), wall_ms(python + ["-c", "pass"]))
                  for _ in range(startup_rounds)]
        rss = [(peak_rss_kib(ours + [str(empty)]), peak_rss_kib(python + ["-c", "pass"]))
               for _ in range(5)]
    return {
        "rounds": rounds,
        "benchmarks": table,
        "geomean_ratio": geomean,
        "startup_rpprof_ms": statistics.median(s[0] for s in starts),
        "startup_cpython_ms": statistics.median(s[1] for s in starts),
        "startup_difference_ms": statistics.median(s[0] - s[1] for s in starts),
        "rss_rpprof_kib": statistics.median(r[0] for r in rss),
        "rss_cpython_kib": statistics.median(r[1] for r in rss),
        "python": sys.version.split()[0],
    }


def render(r):
    base = r.get("baseline")
    rows = [
        "## Interpreter speed against CPython",
        "",
        f"pyperformance {PYPERFORMANCE}'s pure-Python benchmarks (downloaded at benchmark time;",
        "`benches/speed/pyperf.py` stands in for `pyperf`: fixed loops after one warm-up),",
        f"under `rpprof run` and CPython {r['python']} alternating, {r['rounds']} rounds; seconds are",
        "the benchmark's own timing of its loops (start-up excluded), medians; the ratio is",
        "the median of per-round ratios (rpprof / CPython, lower is better).",
    ]
    if r.get("label"):
        rows += ["", f"Measured: {r['label']}."]
    if base:
        rows += ["", f"Before: {base['label']}."]
    rows += [
        "",
        "| benchmark | CPython (s) | rpprof (s) | ratio | ratio before |",
        "|---|---|---|---|---|",
    ]
    for name, t in r["benchmarks"].items():
        before = base["benchmarks"].get(name, {}).get("ratio") if base else None
        before_text = f"{before:.2f}" if before else "-"
        rows.append(f"| {name} | {t['cpython_s']:.3f} | {t['rpprof_s']:.3f} | "
                    f"{t['ratio']:.2f} | {before_text} |")
    geo_before = f"{base['geomean_ratio']:.2f}" if base else "-"
    rows.append(f"| **geometric mean** | | | **{r['geomean_ratio']:.2f}** | {geo_before} |")
    rows += [
        "",
        "Start-up (median of 30 alternating pairs) and peak RSS (median of 5) of an empty script:",
        "",
        "| | rpprof `run empty.py` | CPython `-c pass` | difference | difference before |",
        "|---|---|---|---|---|",
        f"| wall (ms) | {r['startup_rpprof_ms']:.1f} | {r['startup_cpython_ms']:.1f} | "
        f"{r['startup_difference_ms']:.1f} | "
        + (f"{base['startup_difference_ms']:.1f}" if base else "-") + " |",
        f"| peak RSS (MiB) | {r['rss_rpprof_kib'] / 1024:.1f} | {r['rss_cpython_kib'] / 1024:.1f} | "
        f"{(r['rss_rpprof_kib'] - r['rss_cpython_kib']) / 1024:.1f} | "
        + (f"{(base['rss_rpprof_kib'] - base['rss_cpython_kib']) / 1024:.1f}" if base else "-")
        + " |",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    # Ad-hoc comparison of one binary: `python3 benches/speed/speed.py PATH [ROUNDS]`.
    result = measure(Path(sys.argv[1]), rounds=int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    print(json.dumps(result, indent=2))
