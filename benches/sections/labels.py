"""`rpprof.labels`: handler time with a label set active and without, alternating, and
the A/B cost of entering labels 10,000 times a second (`benches/workloads/ab_labels.py`),
with and without a profiler running.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

from harness import RPPROF, WORKLOADS, median, HANDLER_LINE, figures


def labelled_handler_times(rate, depth, rounds=5):
    """Handler time (`record --verbose`) on `cpu_bound.py`'s loop without and with a label
    set active, the two alternating run by run; medians over the runs."""
    runs = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for labels in ("off", "on"):
                done = subprocess.run(
                    [str(RPPROF), "record", "-v", "-r", str(rate), "-o", str(Path(tmp) / "p.pb.gz"),
                     str(WORKLOADS / "labelled_cpu_bound.py"), "8000000", str(depth), labels],
                    check=True, capture_output=True, text=True,
                )
                m = HANDLER_LINE.search(done.stderr)
                runs[labels].append([int(x) for x in m.groups()])
    out = {}
    for labels, found in runs.items():
        pick = lambda i: median([run[i] for run in found])
        out[labels] = {"median": pick(1), "p99": pick(2), "samples": sum(r[4] for r in found)}
    out["diff_ns"] = median([on[1] - off[1] for on, off in zip(runs["on"], runs["off"])])
    return out


def ab_labels(command, style, rounds=60):
    done = subprocess.run(command + [str(WORKLOADS / "ab_labels.py"), str(rounds), "5000", style],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_labels():
    """`rpprof.labels`: handler time with a label set active, and the A/B cost of entering
    labels 10,000 times a second, with and without a profiler running."""
    with tempfile.TemporaryDirectory() as tmp:
        recorded = [str(RPPROF), "record", "-o", str(Path(tmp) / "ab.pb.gz")]
        return {
            "load_average": os.getloadavg()[0],
            "handler": {f"30@{rate}": labelled_handler_times(rate, 30) for rate in (99, 999)},
            "ab_record": ab_labels(recorded, "fresh"),
            "ab_record_reused": ab_labels(recorded, "reused"),
            "ab_run": ab_labels([str(RPPROF), "run"], "fresh"),
            "ab_record_none": ab_labels(recorded, "none"),
        }


def render_labels(r):
    rows = [
        "## Labels: handler time and the cost of `rpprof.labels`",
        "",
        "Handler time per sample from the sampler's histogram (`record --verbose`) on",
        "`cpu_bound.py`'s loop at depth 30 (`benches/workloads/labelled_cpu_bound.py`),",
        "without and with a set of two labels active; runs alternate, five of each, medians",
        "(diff: median over the pairs of with minus without). Target: within 0.5 us.",
        "",
        "| rate | samples | median without (ns) | median with labels (ns) | diff (ns) | p99 without / with (ns) |",
        "|---|---|---|---|---|---|",
    ]
    for key, v in figures(r["handler"]):
        if not isinstance(v, dict):
            continue
        _, rate = key.split("@")
        rows.append(
            f"| {rate} Hz | {v['off']['samples']} + {v['on']['samples']} | {v['off']['median']:.0f} "
            f"| {v['on']['median']:.0f} | {v['diff_ns']:+.0f} | {v['off']['p99']:.0f} / {v['on']['p99']:.0f} |"
        )
    rows += [
        "",
        "A/B cost of entering labels (`benches/workloads/ab_labels.py`): requests of about",
        "100 us of CPU, 10,000 a second, in chunks of 5,000 that alternate in random order",
        "between plain requests and requests each inside a `with rpprof.labels(endpoint=...,",
        "tenant=...)` block (four endpoints, three tenants), made afresh for each request, or",
        "made once and reused (`CART = rpprof.labels(endpoint=\"/cart\")` ... `with CART:`); the",
        "thread's CPU per chunk, ratio per pair, median (min-max) over 60 pairs. Target: <= 1.02.",
        "",
        "| run | requests / s (plain) | median ratio | min-max | cost per block (us) |",
        "|---|---|---|---|---|",
    ]
    rows.insert(-2, f"Load average when the run started: {r.get('load_average', 0):.1f} (2 cores).")
    rows.insert(-2, "")
    for key, name in (("ab_record", "fresh, under `rpprof record` (99 Hz)"),
                      ("ab_record_reused", "reused, under `rpprof record` (99 Hz)"),
                      ("ab_run", "fresh, `rpprof run` (no profiler)"),
                      ("ab_record_none", "none (plain against plain: the noise)")):
        if key not in r:
            continue
        v = r[key]
        rows.append(
            f"| {name} | {v['entries_per_s']:.0f} | {v['median']:.3f} | {v['min']:.3f}-{v['max']:.3f} "
            f"| {v['cost_per_entry_us']:.2f} |"
        )
    rows += [
        "",
        "Making a block is a native call: the labels are checked and looked up in the interned",
        "sets (one uncontended lock). Entering it pushes the thread's set id and replaces it",
        "with one atomic store; leaving pops it back. The handler adds one thread-local atomic",
        "load. With no profiler running the same work is done (the labels are checked either way).",
    ]
    return "\n".join(rows)
