"""`rpprof top`: its added CPU at one refresh a second (in a tmux window) on 8 threads, one
busy, read from /proc while it runs, against `rpprof run` of the same program, alternating.
"""

import os
import subprocess
import time
from pathlib import Path

from harness import RPPROF, WORKLOADS, median


def proc_cpu_s(pid, only=None):
    """CPU seconds of a process's threads (those whose name starts with `only`, or all)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if only is not None and not name.startswith(only):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def top_round(seconds, watch):
    """One run of the sleepers workload: under `rpprof top` in a tmux window (watch=True)
    or under `rpprof run`; CPU seconds (process, rpprof threads, the view's thread) over
    `seconds` of wall time, read while it runs."""
    workload = [str(WORKLOADS / "sleepers.py"), str(seconds + 30), "8"]
    socket = f"rpprof-bench-{os.getpid()}"
    if watch:
        command = " ".join([str(RPPROF), "top", "--program-output", "/dev/null", *workload])
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-x", "120", "-y", "40",
                        f"exec {command}"], check=True)
        pid = int(subprocess.run(["tmux", "-L", socket, "display", "-p", "#{pane_pid}"],
                                 check=True, capture_output=True, text=True).stdout)
    else:
        child = subprocess.Popen([str(RPPROF), "run", *workload])
        pid = child.pid
    time.sleep(3)  # start-up and imports are not what is measured
    start = (time.perf_counter(), proc_cpu_s(pid), proc_cpu_s(pid, "rpprof-"), proc_cpu_s(pid, "rpprof-top"))
    time.sleep(seconds)
    end = (time.perf_counter(), proc_cpu_s(pid), proc_cpu_s(pid, "rpprof-"), proc_cpu_s(pid, "rpprof-top"))
    if watch:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False)
    else:
        child.kill()
        child.wait()
    wall = end[0] - start[0]
    return [(e - s) / wall for s, e in zip(start[1:], end[1:])]


def bench_top():
    """`rpprof top`'s added CPU at 1 refresh/s on 8 threads (one busy), measured from /proc
    while it runs, against `rpprof run` of the same program, alternating."""
    rounds, seconds = 3, 20
    watched, plain = [], []
    for _ in range(rounds):
        watched.append(top_round(seconds, True))
        plain.append(top_round(seconds, False))
    return {
        "rounds": rounds,
        "seconds": seconds,
        "process_top_pct": 100 * median([w[0] for w in watched]),
        "process_run_pct": 100 * median([p[0] for p in plain]),
        "added_pct": 100 * median([w[0] - p[0] for w, p in zip(watched, plain)]),
        "rpprof_threads_pct": 100 * median([w[1] for w in watched]),
        "view_thread_pct": 100 * median([w[2] for w in watched]),
    }


def render_top(r):
    return "\n".join([
        "## `rpprof top`",
        "",
        f"`benches/workloads/sleepers.py`: 8 threads, one computing without pause, seven waking",
        f"every 50 ms, at 99 Hz and one refresh a second in a 120x40 tmux window. CPU of the",
        f"process read from `/proc` over {r['seconds']} s (after 3 s of start-up), {r['rounds']} rounds",
        "alternating with `rpprof run` of the same program; medians, in % of one core.",
        "",
        "| measure | % of a core | target |",
        "|---|---|---|",
        f"| the view's own thread (slice, figures, drawing) | {r['view_thread_pct']:.2f} | |",
        f"| every rpprof thread under `top` (view, aggregator, drain, signals) | {r['rpprof_threads_pct']:.2f} | <= 1 |",
        f"| whole process under `top`, minus under `run` (same pair) | {r['added_pct']:.2f} | |",
        f"| whole process: `top` / `run` | {r['process_top_pct']:.1f} / {r['process_run_pct']:.1f} | |",
        "",
        "The rpprof threads' row leaves out the signal handler's time, spent on the sampled",
        "threads themselves (a few microseconds per sample: see the handler section). The",
        "whole-process difference includes it, but a computing thread's CPU varies by more",
        "than that from run to run on a shared machine: it says only that the added cost is",
        "within that noise; the rpprof threads' row is the measurement.",
    ])
