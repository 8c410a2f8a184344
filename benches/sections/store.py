"""The store: one window write (`agent/benches/store.rs`) with 10, 10k and 60k windows
already stored, the sizes taking turns write by write; medians, p90, max, and opening.
"""

import json
import subprocess

from harness import ROOT


STORE_SIZES = (10, 10_000, 60_000)
# The same bench on the store before issue 12 (commit 1986a67), which re-sorted every
# window, re-summed their sizes and rewrote the whole index.json on each write.
STORE_BEFORE_MEDIAN_MS = {10: 1.1, 10_000: 12.5, 60_000: 90.7}


def bench_store():
    """The store bench (agent/benches/store.rs): one window write with 10 / 10k / 60k windows
    already stored; the sizes take turns write by write, figures are medians."""
    done = subprocess.run(
        ["cargo", "bench", "--ignore-rust-version", "--quiet", "-p", "agent", "--bench", "store"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def render_store(r):
    rows = []
    for n in STORE_SIZES:
        rows.append(f"| {n:,} | {r[f'write_median_us_{n}'] / 1000:.2f} ms | {r[f'write_p90_us_{n}'] / 1000:.2f} ms | "
                    f"{r[f'write_max_us_{n}'] / 1000:.2f} ms | {r[f'open_ms_{n}']:.0f} ms |")
    ratio = r["write_median_us_60000"] / r["write_median_us_10"]
    before = ", ".join(f"{STORE_BEFORE_MEDIAN_MS[n]:.1f} ms with {n:,}" for n in STORE_SIZES)
    return "\n".join([
        "## Store: one window write as the store fills up",
        "",
        "`cargo bench --ignore-rust-version -p agent --bench store`: stores pre-filled with",
        f"10, 10k and 60k windows (60k is a week of 10 s windows; {r['window_bytes']} bytes each),",
        "capped at that many, so each write adds a window and prunes the oldest. One write is",
        "`Store::write_encoded`: the window file written atomically (synced), the store's view",
        "updated, pruning, the index appended to. The sizes take turns write by write,",
        f"{r['rounds']} writes each; open is reading the directory and rewriting the index.",
        "",
        "| windows stored | write: median | p90 | max | open |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"The 60k median is {ratio:.2f}x the 10 one (target: within 1.5x). Before (the same",
        "bench on the store that re-sorted every window, re-summed their sizes and rewrote",
        f"the whole `index.json` on each write), the medians were {before}.",
        "The index is still rewritten whole when its dead lines outnumber its live ones: with",
        "60k windows, once in 30k writes (3.5 days of 10 s windows), at about what every write",
        "cost before.",
    ])
