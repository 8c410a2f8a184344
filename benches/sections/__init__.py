"""The sections of BENCHMARKS.md, one module each: `NAME.py` has `bench_NAME()`, which
measures and returns the section's figures (kept in benches/results.json), and
`render_NAME(figures)`, its Markdown. `benches/run_benchmarks.py` lists them in the order
BENCHMARKS.md shows them.
"""
