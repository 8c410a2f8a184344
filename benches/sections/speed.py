"""Interpreter speed against CPython: pyperformance's pure-Python benchmarks under `rpprof
run` and CPython, start-up and peak RSS. The measuring and the table are
`benches/speed/speed.py`'s; this keeps the labels and the "before" baseline
(RPPROF_SPEED_LABEL, RPPROF_SPEED_BASELINE).
"""

import json
import os
import sys

from harness import ROOT, RPPROF, RESULTS


sys.path.insert(0, str(ROOT / "benches" / "speed"))
import speed  # noqa: E402  (benches/speed/speed.py)


def bench_speed():
    """pyperformance under rpprof and CPython. With RPPROF_SPEED_BASELINE=LABEL the run is
    kept as the "before" column of later runs; otherwise the kept baseline carries over.
    RPPROF_SPEED_LABEL says which build was measured (e.g. one from benches/speed/pgo.py)."""
    result = speed.measure(RPPROF)
    if os.environ.get("RPPROF_SPEED_LABEL"):
        result["label"] = os.environ["RPPROF_SPEED_LABEL"]
    label = os.environ.get("RPPROF_SPEED_BASELINE")
    previous = json.loads(RESULTS.read_text()).get("speed", {}) if RESULTS.exists() else {}
    if label:
        result["baseline"] = dict(result, label=label)
    elif "baseline" in previous:
        result["baseline"] = previous["baseline"]
    return result


# Its table is drawn by benches/speed/speed.py.
render_speed = speed.render
