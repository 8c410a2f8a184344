"""A tiny stand-in for `pyperf`, enough to run pyperformance's pure-Python benchmarks
once under both interpreters (the `speed` section of `benches/run_benchmarks.py`).

`Runner.bench_func` / `bench_time_func` run the benchmark `RPPROF_SPEED_LOOPS` times (an
environment variable; default 1) after one warm-up call, and print one JSON line to stdout:
`{"name": ..., "seconds": ...}`, the timed loops' total. No worker processes, no
calibration, no statistics: the caller alternates interpreters and takes medians.
"""

import argparse
import json
import os
import sys
import time

perf_counter = time.perf_counter


class Runner:
    def __init__(self, *args, add_cmdline_args=None, **kwargs):
        self.metadata = {}
        self.argparser = argparse.ArgumentParser()
        self.args = None

    def parse_args(self, args=None):
        self.args, _ = self.argparser.parse_known_args(args if args is not None else [])
        return self.args

    def _loops(self):
        return int(os.environ.get("RPPROF_SPEED_LOOPS", "1"))

    def _report(self, name, seconds):
        print(json.dumps({"name": name, "seconds": seconds}))
        sys.stdout.flush()

    def bench_time_func(self, name, func, *args, inner_loops=None, **kwargs):
        if self.args is None:
            self.parse_args()
        func(1, *args)
        self._report(name, func(self._loops(), *args))

    def bench_func(self, name, func, *args, inner_loops=None, **kwargs):
        if self.args is None:
            self.parse_args()
        func(*args)
        start = perf_counter()
        for _ in range(self._loops()):
            func(*args)
        self._report(name, perf_counter() - start)

    def bench_command(self, name, command):
        raise NotImplementedError("bench_command is not supported by the stand-in")
