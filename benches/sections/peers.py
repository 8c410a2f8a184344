"""Side by side with py-spy and pyinstrument (installed into a throwaway virtualenv): each
tool's overhead on its own interpreter, and its accuracy on the 6:3:1 workload
`tests/scripts/shares.py`.
"""

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import ROOT, RPPROF, WORKLOADS, ratio_of_pairs


PEERS_VENV = ROOT / "target" / "peers-venv"
PEER_PACKAGES = ["py-spy==0.4.3", "pyinstrument==5.1.3"]
SHARES = ROOT / "tests" / "scripts" / "shares.py"


def peers_venv():
    """A throwaway virtual environment with the peers, on CPython (this interpreter)."""
    if not (PEERS_VENV / "bin" / "py-spy").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "-q", *PEER_PACKAGES], check=True)
    return PEERS_VENV / "bin"


def shares_from_folded(text):
    """Share of samples in six/three/one, from folded lines whose frames read `name (...)`."""
    counts = {"six": 0, "three": 0, "one": 0}
    for line in text.splitlines():
        if line.startswith("#"):  # our header line
            continue
        stack, count = line.rsplit(" ", 1)
        names = {frame.split(" (", 1)[0] for frame in stack.split(";")}
        for name in counts:
            if name in names:
                counts[name] += int(count)
    total = sum(counts.values()) or 1
    return {name: 100.0 * n / total for name, n in counts.items()}


def shares_from_pyinstrument(path):
    counts = {"six": 0.0, "three": 0.0, "one": 0.0}

    def walk(frame):
        if frame["function"] in counts:
            counts[frame["function"]] += frame["time"]
            return
        for child in frame.get("children", []):
            walk(child)

    walk(json.loads(Path(path).read_text())["root_frame"])
    total = sum(counts.values()) or 1
    return {name: 100.0 * t / total for name, t in counts.items()}


def share_error(shares):
    return max(abs(shares[name] - target) for name, target in (("six", 60), ("three", 30), ("one", 10)))


def bench_peers():
    """rpprof next to py-spy and pyinstrument: overhead on each one's interpreter, and the
    accuracy of each on the 6:3:1 calibrated workload."""
    bin_dir = peers_venv()
    cpython = sys.executable
    py_spy, pyinstrument = str(bin_dir / "py-spy"), str(bin_dir / "pyinstrument")
    results = {"overhead": {}, "accuracy": {}, "versions": PEER_PACKAGES + [f"CPython {platform.python_version()}"]}
    # Arguments that make each workload run about 2-3 s on each interpreter.
    workloads = {
        "pure-Python loop": ("cpu_bound.py", ["15000000", "1", "30"], ["30000000", "1", "30"]),
        "recursive calls": ("calls.py", ["32"], ["36"]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for label, (script, ours_args, cpython_args) in workloads.items():
            ours = [str(WORKLOADS / script), *ours_args]
            theirs = [str(WORKLOADS / script), *cpython_args]
            cells = {}
            for rate in (99, 999):
                cells[f"rpprof {rate} Hz"] = ratio_of_pairs(
                    [str(RPPROF), "record", "-r", str(rate), "-o", str(out / "r.folded"), *ours],
                    [str(RPPROF), "run", *ours], 5)
                cells[f"py-spy {rate} Hz"] = ratio_of_pairs(
                    [py_spy, "record", "-r", str(rate), "-f", "raw", "-o", str(out / "s.txt"), "--", cpython, *theirs],
                    [cpython, *theirs], 5)
            cells["pyinstrument (1 ms)"] = ratio_of_pairs(
                [pyinstrument, "-o", str(out / "p.txt"), *theirs], [cpython, *theirs], 5)
            results["overhead"][label] = cells
        subprocess.run([str(RPPROF), "record", "-r", "99", "--function", "-o", str(out / "a.folded"), str(SHARES), "5"],
                       check=True, capture_output=True)
        results["accuracy"]["rpprof 99 Hz"] = shares_from_folded((out / "a.folded").read_text())
        subprocess.run([py_spy, "record", "-r", "99", "-f", "raw", "-o", str(out / "b.txt"), "--", cpython, str(SHARES), "25"],
                       check=True, capture_output=True)
        results["accuracy"]["py-spy 99 Hz"] = shares_from_folded((out / "b.txt").read_text())
        subprocess.run([pyinstrument, "-r", "json", "-o", str(out / "c.json"), str(SHARES), "25"],
                       check=True, capture_output=True)
        results["accuracy"]["pyinstrument (1 ms)"] = shares_from_pyinstrument(out / "c.json")
    return results


def render_peers(r):
    rows = [
        "## Side by side: py-spy and pyinstrument",
        "",
        f"Peers installed by this script into a throwaway virtualenv ({', '.join(r['versions'])}).",
        "Each tool's overhead is measured on its own interpreter: py-spy and pyinstrument",
        "profile CPython, rpprof profiles RustPython; ratio = profiled / unprofiled, five",
        "alternating pairs, median. Workloads run 2-3 s unprofiled on each interpreter.",
        "",
        "| workload | tool | unprofiled wall (s) | wall ratio | CPU ratio |",
        "|---|---|---|---|---|",
    ]
    for workload, cells in r["overhead"].items():
        for tool, v in cells.items():
            rows.append(f"| {workload} | {tool} | {v['plain_wall_s']:.2f} | {v['wall_ratio']:.3f} | {v['cpu_ratio']:.3f} |")
    rows += [
        "",
        "Accuracy on `tests/scripts/shares.py` (functions `six`, `three`, `one` share one loop",
        "with iteration counts 6:3:1, so 60/30/10% of the CPU): each tool's shares, and the",
        "largest error in points.",
        "",
        "| tool | six | three | one | largest error |",
        "|---|---|---|---|---|",
    ]
    for tool, shares in r["accuracy"].items():
        rows.append(f"| {tool} | {shares['six']:.1f}% | {shares['three']:.1f}% | {shares['one']:.1f}% | "
                    f"{share_error(shares):.1f} |")
    return "\n".join(rows)
