"""Wall mode with mostly idle threads: `record --mode wall -r 99` vs `run` of
`idle_threads.py` with 8 and 64 threads, all but one napping, nine alternating pairs.
"""



from harness import WORKLOADS, overhead_pair, figures


def bench_wall_idle():
    """Wall mode at 99 Hz with 8 and 64 threads, all but one mostly idle, vs `run`."""
    results = {}
    for threads in (8, 64):
        script = [str(WORKLOADS / "idle_threads.py"), "15000000", str(threads)]
        results[str(threads)] = overhead_pair(script, 99, rounds=9, extra=("--mode", "wall"))
    return results


def render_wall_idle(r):
    rows = [
        "## Wall mode with mostly idle threads",
        "",
        "`benches/workloads/idle_threads.py 15000000 N`: the main thread computes while N-1",
        "threads sleep in 50 ms naps. `record --mode wall -r 99` vs `run`, nine alternating",
        "pairs, median (min-max) of the per-pair ratios. Every thread is sampled 99 times a",
        "second; the ticker signals only threads whose stack may have moved since their last",
        "sample and repeats the last stack of the others without waking them.",
        "",
        "| threads | `run` wall (s) | wall ratio | CPU ratio |",
        "|---|---|---|---|",
    ]
    for threads, v in figures(r):
        rows.append(
            f"| {threads} | {v['run_wall_s']:.2f} | {v['wall_ratio']:.3f} "
            f"({v['wall_ratio_min']:.3f}-{v['wall_ratio_max']:.3f}) | {v['cpu_ratio']:.3f} |"
        )
    return "\n".join(rows)
