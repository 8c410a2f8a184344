"""Stack dumps: how long each thread is paused while its handler reads its stack, over
dumps of a running agent's 8 threads, and a dump's wall time from request to answer.
"""

import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from harness import RPPROF, WORKLOADS, median, http_get


def bench_dump():
    """A stack dump's pause of the program: per thread, how long its handler ran to read
    its stack, over dumps of a running agent's 8 threads; and a dump's wall time."""
    rounds = 50
    with tempfile.TemporaryDirectory() as tmp:
        agent = subprocess.Popen(
            [str(RPPROF), "agent", "--listen", "127.0.0.1:0", "--store", str(Path(tmp) / "store"),
             str(WORKLOADS / "sleepers.py"), "120", "8"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = agent.stderr.readline()
        base = "http://" + line.split("http://")[1].split()[0]
        time.sleep(2)
        pauses, walls, threads = [], [], 0
        for _ in range(rounds):
            start = time.perf_counter()
            dump = json.loads(http_get(base + "/debug/pprof/threads?format=json"))
            walls.append(time.perf_counter() - start)
            answered = [t for t in dump["threads"] if t["frames"] is not None]
            threads = max(threads, len(answered))
            pauses += [t["pause_ns"] for t in answered]
            time.sleep(0.1)
        agent.send_signal(signal.SIGTERM)
        agent.wait()
    pauses.sort()
    return {
        "rounds": rounds,
        "threads": threads,
        "pause_median_us": median(pauses) / 1000,
        "pause_p99_us": pauses[int(len(pauses) * 0.99)] / 1000,
        "pause_max_us": pauses[-1] / 1000,
        "request_ms": median(walls) * 1000,
    }


def render_dump(r):
    return "\n".join([
        "## Stack dumps",
        "",
        f"{r['rounds']} dumps (`GET /debug/pprof/threads?format=json`) of an agent running",
        f"`benches/workloads/sleepers.py` ({r['threads']} Python threads answered each dump, one",
        "computing, the others mostly asleep). Nothing stops the program: each thread is",
        "interrupted only while its own signal handler copies its stack; the others run on.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| pause of a thread (its handler's run, not counting the kernel's delivery of the signal), median | {r['pause_median_us']:.1f} us | none; stated |",
        f"| pause of a thread, p99 / max | {r['pause_p99_us']:.1f} / {r['pause_max_us']:.1f} us | |",
        f"| a dump, request to answer (median) | {r['request_ms']:.1f} ms | |",
    ])
