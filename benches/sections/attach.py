"""Attach by PID: what an un-attached program pays for being attachable (start-up, and a
run under `record` at 99 Hz), against a baseline build without attach (RPPROF_BASELINE,
e.g. main's build of the same profile), in alternating runs; and the latency of an attach:
request to session running in the target (`record --pid`), and a `dump --pid` end to end.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import RPPROF, WORKLOADS, median, paired

BASELINE = os.environ.get("RPPROF_BASELINE")


def _pairs(ours, base, rounds):
    a, b = paired(ours, base, rounds)
    return {
        "ours_wall_s": median([w for w, _ in a]),
        "base_wall_s": median([w for w, _ in b]),
        "wall_ratio": median([x[0] / y[0] for x, y in zip(a, b)]),
        "cpu_ratio": median([x[1] / max(y[1], 1e-9) for x, y in zip(a, b)]),
        "wall_diff_ms": median([(x[0] - y[0]) * 1000 for x, y in zip(a, b)]),
    }


def _cost(tmp):
    """This build against the baseline, un-attached."""
    if not BASELINE:
        return None
    empty = Path(tmp) / "empty.py"
    empty.write_text("")
    out = str(Path(tmp) / "p.folded")
    work = [str(WORKLOADS / "cpu_bound.py"), "12000000", "1", "30"]
    cost = {"load": os.getloadavg()[0]}
    for name, args, rounds in (
        ("run_empty", ["run", str(empty)], 30),
        ("script_empty", [str(empty)], 30),
        ("script_cpu", work, 16),
        ("record99_cpu", ["record", "-r", "99", "-o", out, *work], 16),
    ):
        cost[name] = _pairs([str(RPPROF), *args], [BASELINE, *args], rounds)
        cost[name]["rounds"] = rounds
    return cost


def _instructions(binary, iterations, tmp):
    """Instructions executed (callgrind's Ir) by `binary cpu_bound.py ITERATIONS 1 30`."""
    out = Path(tmp) / "callgrind.out"
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary,
         str(WORKLOADS / "cpu_bound.py"), str(iterations), "1", "30"],
        capture_output=True, text=True, check=True,
    )
    for line in done.stderr.splitlines():
        if "refs:" in line:
            return int(line.split("refs:")[1].strip().replace(",", ""))
    raise RuntimeError("callgrind printed no instruction count")


def _work(tmp):
    """Instructions of start-up alone (0 iterations) and of 500,000 iterations, both
    builds: deterministic where CPU time on shared cores is not."""
    if not BASELINE or subprocess.run(["which", "valgrind"], capture_output=True).returncode:
        return None
    work = {}
    for name, binary in (("ours", str(RPPROF)), ("base", BASELINE)):
        start = _instructions(binary, 0, tmp)
        loop = _instructions(binary, 500_000, tmp)
        work[name] = {"startup": start, "per_iteration": (loop - start) / 500_000}
    return work


def _memory():
    """Resident memory (anonymous, file-backed) and threads of `-c 'sleep'`, both builds,
    median of 5 each."""
    if not BASELINE:
        return None
    out = {}
    for name, binary in (("ours", str(RPPROF)), ("base", BASELINE)):
        rows = []
        for _ in range(5):
            proc = subprocess.Popen([binary, "-c", "import time; time.sleep(1.5)"])
            time.sleep(1.0)
            status = Path(f"/proc/{proc.pid}/status").read_text()
            proc.wait()
            field = {key: value.split()[0]
                     for key, _, value in (line.partition(":") for line in status.splitlines())
                     if value.split()}
            rows.append((int(field["RssAnon"]), int(field["RssFile"]), int(field["Threads"])))
        out[name] = {
            "anon_kb": median([r[0] for r in rows]),
            "file_kb": median([r[1] for r in rows]),
            "threads": median([r[2] for r in rows]),
        }
    return out


def _latency(tmp):
    """Request to session running, and dump round trips, on a 4-thread busy target."""
    target = subprocess.Popen(
        [str(RPPROF), "run", str(WORKLOADS / "busy_threads.py"), "4", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)
        pid = str(target.pid)
        started, dumps = [], []
        for i in range(10):
            begin = time.perf_counter()
            req = subprocess.Popen(
                [str(RPPROF), "record", "--pid", pid, "--duration", "1", "-o",
                 str(Path(tmp) / f"l{i}.folded")],
                stderr=subprocess.PIPE, text=True,
            )
            for line in req.stderr:
                if "attached to pid" in line:
                    started.append(time.perf_counter() - begin)
                    break
            req.communicate()
            begin = time.perf_counter()
            subprocess.run([str(RPPROF), "dump", "--pid", pid], check=True,
                           stdout=subprocess.DEVNULL)
            dumps.append(time.perf_counter() - begin)
    finally:
        target.kill()
        target.wait()
    return {
        "rounds": len(started),
        "session_ms": median(started) * 1000,
        "session_max_ms": max(started) * 1000,
        "dump_ms": median(dumps) * 1000,
        "dump_max_ms": max(dumps) * 1000,
    }


def bench_attach():
    """Cost of being attachable, and attach latency."""
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "binary": RPPROF.name if not os.environ.get("RPPROF_BINARY") else "RPPROF_BINARY",
            "baseline": "RPPROF_BASELINE" if BASELINE else None,
            "cost": _cost(tmp),
            "instructions": _work(tmp),
            "memory": _memory(),
            "latency": _latency(tmp),
        }


def render_attach(r):
    rows = [
        "## Attach by PID",
        "",
        "What a program pays for being attachable while nobody attaches: the watcher thread",
        "blocked in read(2) (new under the python command line, `rpprof script.py` and",
        "`python3` links; `run`, `record` and `agent` had it) and one signal handler. This",
        "build against a baseline build without attach (`RPPROF_BASELINE`), same profile,",
        "alternating runs, medians of the per-pair ratios (differences for start-up).",
        "`cpu_bound.py 12000000 1 30` is one thread of pure-Python work at depth 30 (one, so",
        "that the two cores, shared with other work, disturb it less). Dev builds (optimised",
        "dependencies), as the tests use; the load average was noted at the start.",
        "",
    ]
    cost = r.get("cost")
    if cost:
        rows += [
            "| command | rounds | this build | baseline | per-pair wall ratio | CPU ratio | wall difference |",
            "|---|---|---|---|---|---|---|",
        ]
        names = {
            "run_empty": "`rpprof run empty.py` (start-up)",
            "script_empty": "`rpprof empty.py` (start-up, python command line)",
            "script_cpu": "`rpprof cpu_bound.py ...`",
            "record99_cpu": "`rpprof record -r 99 cpu_bound.py ...`",
        }
        rows.insert(-2, f"Load average (1 min) at the start: {cost['load']:.1f}.\n")
        for key, label in names.items():
            v = cost[key]
            rows.append(
                f"| {label} | {v['rounds']} | {v['ours_wall_s'] * 1000:.1f} ms | "
                f"{v['base_wall_s'] * 1000:.1f} ms | {v['wall_ratio']:.3f} | "
                f"{v['cpu_ratio']:.3f} | {v['wall_diff_ms']:+.1f} ms |")
    else:
        rows.append("(No baseline given: set RPPROF_BASELINE to a build without attach.)")
    work = r.get("instructions")
    if work:
        ours, base = work["ours"], work["base"]
        rows += [
            "",
            "CPU time on two cores shared with other builds and benchmarks moves by several",
            "percent between builds that do the same work (code placement, neighbours), so",
            "the work itself was counted too: instructions executed (valgrind callgrind),",
            "which do not depend on the load.",
            "",
            "| instructions | this build | baseline | difference |",
            "|---|---|---|---|",
            f"| start-up and exit (`cpu_bound.py 0 1 30`) | {ours['startup']:,} | "
            f"{base['startup']:,} | {ours['startup'] - base['startup']:+,} "
            f"({100 * (ours['startup'] / base['startup'] - 1):+.2f}%) |",
            f"| one loop iteration (from 500,000) | {ours['per_iteration']:.1f} | "
            f"{base['per_iteration']:.1f} | "
            f"{100 * (ours['per_iteration'] / base['per_iteration'] - 1):+.3f}% |",
        ]
    memory = r.get("memory")
    if memory:
        ours, base = memory["ours"], memory["base"]
        rows += [
            "",
            "Memory of `rpprof -c 'import time; time.sleep(1.5)'` (median of 5): threads "
            f"{base['threads']} -> {ours['threads']}, anonymous resident "
            f"{base['anon_kb']} -> {ours['anon_kb']} KiB ({ours['anon_kb'] - base['anon_kb']:+} KiB: "
            "the watcher's stack pages and pipe), file-backed resident "
            f"{base['file_kb']} -> {ours['file_kb']} KiB (binary pages touched, shared page cache).",
        ]
    lat = r["latency"]
    rows += [
        "",
        f"Attach latency, {lat['rounds']} attaches to `rpprof run busy_threads.py 4 600` (four",
        "busy threads): from starting `rpprof record --pid` to the target's session running",
        "(the requester's `attached` line: /proc checks, socket, signal, connect-back,",
        "handshake, `Session::start` in the target) the median was",
        f"{lat['session_ms']:.1f} ms (max {lat['session_max_ms']:.1f} ms); the first sample",
        "follows within one sampling period of a running thread (10.1 ms at 99 Hz). A whole",
        f"`rpprof dump --pid` (start to printed stacks) took {lat['dump_ms']:.1f} ms median",
        f"(max {lat['dump_max_ms']:.1f} ms).",
    ]
    return "\n".join(rows)
