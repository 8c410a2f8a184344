"""Runs a script under CPython's tracemalloc and prints, as JSON, the bytes still
allocated at its end by function (tracemalloc traces live blocks only: it cannot say what
was allocated and freed).

    python3 tracemalloc_run.py SCRIPT [ARGS...]
"""

import ast
import json
import runpy
import sys
import tracemalloc

script = sys.argv[1]
sys.argv = sys.argv[1:]
tracemalloc.start(1)
runpy.run_path(script, run_name="__main__")
snapshot = tracemalloc.take_snapshot()
tracemalloc.stop()

# Line -> function of the script, from its syntax tree.
tree = ast.parse(open(script).read())
functions = []
for node in ast.walk(tree):
    if isinstance(node, ast.FunctionDef):
        functions.append((node.lineno, node.end_lineno, node.name))


def function_of(lineno):
    inner = [f for f in functions if f[0] <= lineno <= f[1]]
    return min(inner, key=lambda f: f[1] - f[0])[2] if inner else "<module>"


by_function = {}
for stat in snapshot.statistics("lineno"):
    frame = stat.traceback[0]
    name = function_of(frame.lineno) if frame.filename == script else frame.filename
    by_function[name] = by_function.get(name, 0) + stat.size
print(json.dumps(by_function), file=sys.stderr)
