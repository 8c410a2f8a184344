"""Samples in time order: the timeline bench (`benches/timeline.rs`), memory and CPU to keep
a million timed samples, and the Firefox Profiler and speedscope writers on them; medians of
three runs.
"""

import json
import subprocess

from harness import ROOT, median


def bench_timeline():
    """The timeline bench (benches/timeline.rs): memory and CPU to keep a million timed
    samples, and the Firefox and speedscope writers on them; medians of three runs."""
    runs = []
    for _ in range(3):
        done = subprocess.run(
            ["cargo", "bench", "--ignore-rust-version", "--quiet", "--bench", "timeline"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: median([run[key] for run in runs]) for key in runs[0]}


def render_timeline(r):
    return "\n".join([
        "## Samples in time order (Firefox Profiler, speedscope)",
        "",
        "`cargo bench --ignore-rust-version --bench timeline`: a million synthetic samples",
        f"({r['threads']:.0f} threads, 30 frames deep, 5000 distinct stacks, real interned",
        "strings) through the aggregator and the `TimelineRecorder` it feeds when a format",
        "that shows time is asked for (stacks resolved once, for both), then written; CPU",
        "time of the thread beyond aggregating alone, medians of three runs.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| memory per million timed samples (what the recorder adds to the aggregator: samples, per-thread lists) | "
        f"{r['recorder_mib_per_million']:.1f} MiB | bounded |",
        f"| of which the samples themselves (24 bytes each) | {r['sample_mib_per_million']:.1f} MiB | |",
        f"| keeping them, on the aggregator thread (besides aggregating) | "
        f"{r['record_samples_per_s'] / 1e6:.1f} M samples/s | |",
        f"| Firefox Profiler writer, 1 M samples | {r['firefox_1m_s']:.2f} s "
        f"({r['firefox_1m_mb']:.0f} MB of JSON; gzip {r['gzip_1m_s']:.2f} s more, "
        f"{r['firefox_1m_gz_mb']:.1f} MB) | |",
        f"| speedscope writer in time order, 1 M samples | {r['speedscope_1m_s']:.2f} s "
        f"({r['speedscope_1m_mb']:.0f} MB) | |",
        "",
        "The default bound, `--timeline-samples 2000000`, is about twice the memory in the",
        "first row; past it samples are merged pairwise, so memory stays there.",
    ])
