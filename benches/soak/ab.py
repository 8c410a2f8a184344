#!/usr/bin/env python3
"""What a session costs a thread-per-request service, measured as an alternating A/B, set
beside what the agent says it costs (`rpprof_overhead_ratio` on `/metrics`).

    python3 benches/soak/ab.py [--app stdlib|flask] [--modes run,agent-cpu,record]
                               [--rounds 5] [--duration 60] [--json PATH] [--markdown]

Runs the soak service (soak.py's `serve`, same apps, same load) under each mode in turn,
`--rounds` times, alternating, for `--duration` seconds of load each. The first mode is the
baseline: for every other mode and every round it takes the ratio of requests per second
and of server CPU per request to the baseline's in the same round, and reports the median
over rounds. The A/B overhead is the CPU-per-request ratio minus one; agent modes also
report the median `rpprof_overhead_ratio` read at the end of their runs, so the two can be
compared directly. Other soak.py options (--clients, --rpprof, --alloc, --extra) apply.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import soak  # noqa: E402  (benches/soak/soak.py)


def parse(argv):
    p = argparse.ArgumentParser(prog="ab.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--app", choices=sorted(soak.APPS), default="stdlib")
    p.add_argument("--modes", default="run,agent-cpu", help="the first is the baseline")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=60, help="seconds of load per run")
    p.add_argument("--json", help="write every run and the summary here")
    p.add_argument("--markdown", action="store_true", help="print a markdown table")
    known, rest = p.parse_known_args(argv)
    # The rest (and the per-run settings) are soak.py's own `serve` options.
    kind, sargs = soak.parse(["serve", "--app", known.app, "--mode", known.modes,
                              "--duration", str(known.duration), "--rss-interval", "1e9",
                              "--rate-interval", "1e9", "--pull-interval", "1e9", *rest])
    return known, sargs


def summary(modes, rounds):
    """Per non-baseline mode: median ratios over rounds (each against its own round)."""
    rows = []
    for mode in modes[1:]:
        rate, cpu, metric = [], [], []
        for runs in rounds:
            base, other = runs[modes[0]]["summary"], runs[mode]["summary"]
            if base.get("req_s") and other.get("req_s"):
                rate.append(other["req_s"] / base["req_s"])
            if base.get("cpu_ms_per_req") and other.get("cpu_ms_per_req"):
                cpu.append(other["cpu_ms_per_req"] / base["cpu_ms_per_req"])
            if "overhead_ratio" in other:
                metric.append(other["overhead_ratio"])
        med = lambda xs: round(statistics.median(xs), 4) if xs else None  # noqa: E731
        rows.append({"mode": mode, "baseline": modes[0], "pairs": len(cpu),
                     "req_s_ratio": med(rate), "cpu_per_req_ratio": med(cpu),
                     "ab_overhead": None if not cpu else round(statistics.median(cpu) - 1, 4),
                     "overhead_ratio_metric": med(metric),
                     "cpu_per_req_ratios": [round(x, 3) for x in cpu],
                     "metrics": [round(x, 4) for x in metric]})
    return rows


def markdown(doc):
    head = ["mode / baseline", "pairs", "req/s ratio", "CPU per request ratio",
            "A/B overhead", "`rpprof_overhead_ratio`", "CPU ratio per pair"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    pct = lambda x: "-" if x is None else f"{100 * x:+.1f}%" if x < 0 else f"{100 * x:.1f}%"  # noqa: E731
    for r in doc["summary"]:
        lines.append(f"| {r['mode']} / {r['baseline']} | {r['pairs']} | {r['req_s_ratio']} | "
                     f"{r['cpu_per_req_ratio']} | {pct(r['ab_overhead'])} | "
                     f"{pct(r['overhead_ratio_metric'])} | "
                     f"{', '.join(map(str, r['cpu_per_req_ratios']))} |")
    return "\n".join(lines)


def main():
    known, sargs = parse(sys.argv[1:])
    if known.app == "flask":
        soak.ensure_deps()
    rounds = []
    for i in range(known.rounds):
        runs = {}
        for mode in sargs.modes:
            run = soak.soak_one(sargs, mode)
            runs[mode] = run
            s = run["summary"]
            soak.log(f"round {i + 1} {mode}: {s.get('req_s')} req/s, "
                     f"{s.get('cpu_ms_per_req')} ms CPU a request, "
                     f"overhead metric {s.get('overhead_ratio')}")
        rounds.append(runs)
    doc = {"measured": time.strftime("%Y-%m-%d %H:%M"), "machine": soak.machine(),
           "app": known.app, "modes": sargs.modes, "duration_s": known.duration,
           "clients": sargs.clients, "rpprof": str(sargs.rpprof),
           "summary": summary(sargs.modes, rounds),
           "rounds": [{m: r["summary"] for m, r in runs.items()} for runs in rounds]}
    if known.json:
        Path(known.json).write_text(json.dumps(doc, indent=2) + "\n")
    print(markdown(doc) if known.markdown else json.dumps(doc["summary"], indent=2))


if __name__ == "__main__":
    main()
