"""attrs' whole test suite (issue 23): pytest on the tests of the attrs 25.4.0 sdist, with
the attrs wheel installed (on `PYTHONPATH`, as attrs' tox installs it: its pytest options
make `src/` unimportable), under CPython (`python3`), `rpprof run` and `rpprof record`.
Per-test outcomes are read from pytest's JUnit XML and compared test by test; every
difference is named below with its reason, and one that is not is printed as
UNEXPLAINED. The packages are the tests' pinned ones, fetched by pip into
`target/pypi-cache` (`real_programs.py`). `--hypothesis-seed=0` makes the property-based
tests draw the same examples on every run; `python3 -S` keeps CPython's own site-packages
(which may hold another attrs, or cloudpickle) out, as rpprof has none (and `record` takes
no interpreter options).

    python3 benches/sections/attrs_suite.py      # runs the three and prints the comparison
    python3 benches/run_benchmarks.py attrs_suite  # the same, kept in BENCHMARKS.md

`tests/real_programs.rs` runs a few of these files on every test run (the whole suite takes
minutes under a debug build).
"""

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import RPPROF, build_profile
from sections.real_programs import PYTEST, sdist, wheel


ATTRS = "attrs==25.4.0"
PACKAGES = [ATTRS, *PYTEST, "hypothesis==6.155.7", "sortedcontainers==2.4.0"]

# Every test whose outcome differs between CPython 3.11 and rpprof, with the reason.
# rpprof's interpreter reports Python 3.14 (RustPython 0.6.0, 3.14 standard library).
KNOWN = {
    "tests/test_forward_references.py::test_forward_class_reference":
        "3.14 version gate: `tests/conftest.py` leaves the file out below 3.14 "
        "(`collect_ignore` unless `PY_3_14_PLUS`)",
    "tests/test_slots.py::test_slots_cached_property_infers_type":
        "3.14 version gate: `xfail(PY_3_14_PLUS, reason=\"3.14 does not infer the type "
        "anymore.\")`",
    "tests/test_functional.py::TestReplace::test_replaces":
        "3.13 version gate: `skipif(not PY_3_13_PLUS)` (`copy.replace`)",
    "tests/test_functional.py::TestReplace::test_already_has_one":
        "3.13 version gate: `skipif(not PY_3_13_PLUS)` (`copy.replace`)",
    "tests/test_functional.py::TestReplace::test_invalid_field_name":
        "3.13 version gate: `skipif(not PY_3_13_PLUS)` (`copy.replace`)",
    "tests/test_converters.py::TestPipe::test_wrapped_annotation":
        "not a gate: fails under CPython 3.11.7, whose `inspect.signature()` refuses an "
        "instance whose `__call__` is a slot (attrs' `Converter`: \"`<member '__call__' of "
        "'Converter' objects>` is not a callable object\"); 3.14's `inspect`, which rpprof "
        "ships, reads it (a later 3.11 may too: CPython's gh-101293 changed how `inspect` reads "
        "such callables after 3.11.7)",
}


def _outcomes(junit):
    """{test id: passed|failed|error|skipped|xfailed} from pytest's JUnit XML (an xpass
    under attrs' `xfail_strict` is a failure)."""
    outcomes = {}
    for case in ET.parse(junit).iter("testcase"):
        # classname is `tests.test_x` or `tests.test_x.Class`.
        parts = case.get("classname", "").split(".")
        file = "/".join(parts[:2]) + ".py"
        test = "::".join([file, *parts[2:], case.get("name", "")])
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        outcomes[test] = outcome
    return outcomes


def _run(command, cwd, env, junit):
    """Wall seconds of one pytest run and its per-test outcomes."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    if not Path(junit).exists():
        sys.exit(f"{command[0]} left no JUnit XML (exit {done.returncode}):\n{done.stdout[-3000:]}")
    return wall, _outcomes(junit)


# Where `record`'s CPU samples go: the frames a sample's stack holds (file, function).
SHARES = {
    "hypothesis's property-based tests":
        ("hypothesis/core.py", "given.<locals>.run_test_as_given.<locals>.wrapped_test"),
    "pytest rewriting assertions (`ast.parse`, `compile`)":
        ("_pytest/assertion/rewrite.py", "AssertionRewritingHook.exec_module"),
}


def _shares(folded):
    """{name in SHARES: share of the samples in `folded` whose stack holds that frame}."""
    total, held = 0, dict.fromkeys(SHARES, 0)
    for line in Path(folded).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if line.startswith("#") or not count.isdigit():
            continue
        total += int(count)
        for name, (file, function) in SHARES.items():
            if any(f.startswith(function + " (") and file in f for f in stack.split(";")):
                held[name] += int(count)
    return {name: n / total for name, n in held.items()} if total else {}


def bench_attrs_suite():
    source = sdist(ATTRS)
    path = [wheel(r) for r in PACKAGES]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, path)), LANG="C.UTF-8")
    env.pop("LC_ALL", None)
    pytest = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0",
              "tests"]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        commands = {
            "python3": [sys.executable, "-S"],
            "rpprof run": [str(RPPROF), "run"],
            "rpprof record": [str(RPPROF), "record", "-o", str(tmp / "attrs.folded"), "--"],
        }
        for name, command in commands.items():
            junit = tmp / f"{name.replace(' ', '-')}.xml"
            wall, outcomes = _run([*command, *pytest, f"--junitxml={junit}"], source, env, junit)
            runs[name] = {"wall_s": wall, "outcomes": outcomes}
            print(f"{name}: {wall:.1f} s, {dict(Counter(outcomes.values()))}", file=sys.stderr)
            if name == "rpprof record":
                runs[name]["shares"] = _shares(tmp / "attrs.folded")
    cpython = runs["python3"]["outcomes"]
    differences = []
    for name in ("rpprof run", "rpprof record"):
        ours = runs[name]["outcomes"]
        for test in sorted(set(cpython) | set(ours)):
            if cpython.get(test) != ours.get(test):
                differences.append({
                    "under": name, "test": test, "python3": cpython.get(test, "not collected"),
                    "rpprof": ours.get(test, "not collected"),
                    "reason": KNOWN.get(test, "UNEXPLAINED"),
                })
    return {
        "runs": {name: {"wall_s": r["wall_s"], "counts": dict(Counter(r["outcomes"].values()))}
                 for name, r in runs.items()},
        "record_shares": runs["rpprof record"].get("shares", {}),
        "differences": differences,
        "binary": build_profile(),
        "note": os.environ.get("RPPROF_ATTRS_NOTE", ""),
    }


OUTCOMES = ["passed", "failed", "error", "skipped", "xfailed"]


def render_attrs_suite(r):
    lines = [
        "## attrs' whole test suite",
        "",
        "pytest on attrs 25.4.0's own tests (its sdist, the attrs wheel installed), "
        "`--hypothesis-seed=0`, under CPython (`python3 -S`), `rpprof run` and "
        "`rpprof record`, compared test by test (`benches/sections/attrs_suite.py`). "
        "rpprof reports Python 3.14, so attrs' version gates choose differently. "
        f"Binary: {r['binary']}.",
        "",
        "| under | " + " | ".join(OUTCOMES) + " | wall (s) |",
        "|---|" + "---|" * (len(OUTCOMES) + 1),
    ]
    for name, run in r["runs"].items():
        counts = [str(run["counts"].get(o, 0)) for o in OUTCOMES]
        lines.append(f"| {name} | " + " | ".join(counts) + f" | {run['wall_s']:.1f} |")
    by_test = {}
    for d in r["differences"]:
        row = by_test.setdefault(d["test"], {"python3": d["python3"], "reason": d["reason"]})
        row[d["under"]] = d["rpprof"]
    lines += ["", "| test | python3 | rpprof run | rpprof record | why |", "|---|---|---|---|---|"]
    for test, row in by_test.items():
        # A test that differs under one of the two has CPython's outcome under the other.
        run, record = (row.get(u, row["python3"]) for u in ("rpprof run", "rpprof record"))
        lines.append(f"| `{test}` | {row['python3']} | {run} | {record} | {row['reason']} |")
    lines += [
        "",
        "Skipped under both: `test_3rd_party.py` (cloudpickle, which attrs' test dependencies "
        "install on CPython only, is not fetched), the pyright tests (no pyright), a pre-3.10 "
        "test and a PyPy-only one. `test_compat.py::TestMetadataProxy::test_immutable` failed "
        "under rpprof until its compatibility layer gave `mappingproxy` CPython's message for "
        "`del` (`src/python/compat_mappingproxy.rs`). `tests/real_programs.rs` runs all of "
        "`tests/` but `test_funcs.py` and `test_make.py` on every test run, with the same "
        "differences named.",
    ]
    if r.get("record_shares"):
        shares = ", ".join(f"{name} {share:.0%}" for name, share in r["record_shares"].items())
        lines += ["", f"Where `record` saw the suite's CPU time go (stacks holding): {shares}."]
    if r.get("note"):
        lines += ["", r["note"]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_attrs_suite(bench_attrs_suite()))
