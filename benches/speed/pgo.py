"""A profile-guided (PGO) release build of rpprof, in one command:

    python3 benches/speed/pgo.py

Three steps, driven through `cargo-pgo` (`cargo install cargo-pgo`; it needs the
`llvm-tools` rustup component for `llvm-profdata`):

1. `cargo pgo build`: an instrumented binary. It is built with the release profile minus
   LTO (`CARGO_PROFILE_RELEASE_LTO=false`, 16 codegen units): instrumentation counts are
   keyed by function, so the cheaper build trains the fat one just as well, in a fraction
   of the time.
2. Training: the instrumented binary runs pyperformance benchmarks that are *not* in the
   measured `speed` set (so the speed table is not measured on its own training data),
   empty-script start-ups, and a `record` and `report` of a threaded workload.
3. `cargo pgo optimize build`: the release profile (fat LTO, one codegen unit) with the
   merged profile. The binary is `target/x86_64-unknown-linux-gnu/release/rpprof` (or
   under `CARGO_TARGET_DIR`).

Measure it with `RPPROF_BINARY=<that path> python3 benches/run_benchmarks.py speed`.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import speed  # noqa: E402  (benchmarks_dir and the measured set)

# pyperformance benchmarks that run under RustPython and are disjoint from speed.BENCHMARKS,
# with loop counts that keep each run to about a second under the instrumented binary.
TRAINING = [
    ("richards_super", 2),
    ("comprehensions", 200),
    ("coroutines", 2),
    ("deepcopy", 200),
    ("json_dumps", 5),
    ("json_loads", 50),
    ("logging", 200),
    ("meteor_contest", 1),
    ("pidigits", 2),
    ("regex_compile", 1),
    ("regex_effbot", 5),
    ("regex_v8", 3),
    ("unpack_sequence", 2000),
    ("gc_collect", 20),
    ("pathlib", 5),
    ("telco", 1),
    ("sqlite_synth", 500),
    ("concurrent_imap", 5),
]
MEASURED = {name for name, _ in speed.BENCHMARKS}
assert not MEASURED & {name for name, _ in TRAINING}, "training must not overlap the measured set"


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def cargo_pgo(*args, env=None):
    command = ["cargo", "pgo", *args, "--", "--ignore-rust-version", "--locked", "--bin", "rpprof"]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True, env=env)


def binary():
    return target_dir() / "x86_64-unknown-linux-gnu" / "release" / "rpprof"


def train(rpprof):
    """Runs the training workload under the instrumented binary; its counters land in
    cargo-pgo's profile directory by themselves."""
    directory = speed.benchmarks_dir()
    for name, loops in TRAINING:
        print(f"training: {name}", flush=True)
        speed.timed_loops([str(rpprof), "run"], directory / f"bm_{name}", loops)
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.py"
        empty.write_text("")
        for _ in range(20):
            subprocess.run([str(rpprof), "run", str(empty)], check=True)
        subprocess.run([str(rpprof), "-c", "import threading, json, re, socket"], check=True)
        profile = Path(tmp) / "busy.pb.gz"
        workload = ROOT / "benches" / "workloads" / "busy_threads.py"
        subprocess.run([str(rpprof), "record", "-o", str(profile), str(workload), "4", "2"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([str(rpprof), "report", str(profile)], check=True,
                       stdout=subprocess.DEVNULL)


def main():
    cheap = dict(os.environ, CARGO_PROFILE_RELEASE_LTO="false",
                 CARGO_PROFILE_RELEASE_CODEGEN_UNITS="16")
    if "--skip-instrumented" not in sys.argv:
        cargo_pgo("build", env=cheap)
    if "--skip-training" not in sys.argv:
        train(binary())
    cargo_pgo("optimize", "build")
    print(f"PGO binary: {binary()}")


if __name__ == "__main__":
    main()
