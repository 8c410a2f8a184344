#!/usr/bin/env python3
"""Soak benchmark: a thread-per-request web service under rpprof for minutes on end, to see
whether memory grows, throughput sags, or the agent's endpoints slow down over time.

    python3 benches/soak/soak.py [serve] --mode python,run,record,agent-cpu,agent-wall
                                 [--app flask|stdlib] [--alloc] [--duration 600] ...
    python3 benches/soak/soak.py threads --mode python,run --threads 100000
    python3 benches/soak/soak.py render A.json [B.json ...]     # markdown from saved results

`serve` starts benches/soak/flask_app.py (werkzeug's threaded dev server; Flask is installed
into benches/soak/.deps, put on PYTHONPATH) or stdlib_app.py (http.server), in each mode
in turn, and loads it from this process: --clients threads, a new connection per request,
cycling /cpu, /page and /json. It reads the server's resident memory (VmRSS of the process
and any children) every --rss-interval, counts requests per --rate-interval, and in agent
modes pulls `/debug/pprof/profile?seconds=1` every --pull-interval (timed) and scrapes
`/metrics` at the end. `threads` runs thread_churn.py (start and join N threads) in each
mode and reports resident memory growth from the first report (10,000 threads) to N.

Modes: python (CPython: --python, default this interpreter), run (`rpprof run`), record
(`rpprof record -o profile.pprof`, stopped by SIGINT, the profile checked), agent-cpu and
agent-wall (`rpprof agent --listen 127.0.0.1:0 --store DIR [--mode wall]`). --alloc adds
`--alloc` to record and agent modes; --extra adds any other rpprof flags to them. Each run
keeps its stdout, stderr, profile and store in --out-dir/APP-MODE/. Progress goes to
stderr, a summary table to stdout; --json PATH saves everything, --markdown prints a
section fragment for BENCHMARKS.md.
"""

import argparse
import http.client
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEPS = HERE / ".deps"
DEFAULT_RPPROF = Path(os.environ.get(
    "RPPROF_BINARY",
    Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "rpprof",
))
MODES = ("python", "run", "record", "agent-cpu", "agent-wall")
APPS = {"flask": HERE / "flask_app.py", "stdlib": HERE / "stdlib_app.py"}
ROUTES = ("/cpu", "/page", "/json")
MIB = 1024  # KiB per MiB


def log(message):
    print(message, file=sys.stderr, flush=True)


def percentile(values, p):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# --- the program under test --------------------------------------------------------------

def ensure_deps():
    if (DEPS / "flask" / "__init__.py").exists():
        return
    log(f"installing flask 3.1 into {DEPS}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(DEPS),
                    "flask==3.1.*"], check=True)


def uses_alloc(args, mode):
    return args.alloc and mode not in ("python", "run")


def label(args, mode):
    return mode + ("+alloc" if uses_alloc(args, mode) else "") + (f" ({args.tag})" if args.tag else "")


def command(args, mode, workdir, program):
    if mode == "python":
        return [args.python, *program]
    rpprof = str(args.rpprof)
    if mode == "run":
        return [rpprof, "run", *program]
    options = (["--alloc"] if args.alloc else []) + shlex.split(args.extra)
    if mode == "record":
        return [rpprof, "record", "-o", str(workdir / "profile.pprof"), *options, "--", *program]
    wall = ["--mode", "wall"] if mode == "agent-wall" else []
    return [rpprof, "agent", "--listen", "127.0.0.1:0", "--store", str(workdir / "store"),
            *wall, *options, "--", *program]


class Program:
    """One program started in one mode, its stdout and stderr in files of its workdir."""

    def __init__(self, args, mode, workdir, program):
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        self.workdir, self.mode = workdir, mode
        self.stdout, self.stderr = workdir / "stdout.txt", workdir / "stderr.txt"
        self.cmd = command(args, mode, workdir, program)
        path = os.pathsep.join(p for p in (str(DEPS), os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, PYTHONPATH=path, PYTHONUNBUFFERED="1")
        self.started = time.monotonic()
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env, cwd=workdir)

    def tail(self, lines=15):
        text = self.stderr.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_for(self, pattern, stream, timeout):
        """The first match of pattern in stdout or stderr, waiting for it to appear."""
        path = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, path.read_text(errors="replace"))
            if match:
                return match
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.cmd[0]} exited ({self.proc.returncode}) before "
                                   f"{pattern!r}:\n{self.tail()}")
            time.sleep(0.1)
        raise RuntimeError(f"no {pattern!r} on {stream} within {timeout} s:\n{self.tail()}")

    def stop(self, timeout):
        """SIGINT (record writes its profile, the agent flushes), then SIGTERM, then SIGKILL."""
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"  {self.mode}: still running {timeout} s after {sig.name}")
        return self.proc.wait()

    def profile_bytes(self):
        path = self.workdir / "profile.pprof"
        return path.stat().st_size if path.exists() else 0


def vmrss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def process_tree(root):
    """Resident KiB, process count and CPU seconds (user + system) of root and all its
    descendants (rpprof runs the program in its own process, but a program may start
    children)."""
    children, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total, count, cpu_s, todo = 0, 0, 0.0, [root]
    while todo:
        pid = todo.pop()
        kib = vmrss_kib(pid)
        if kib is not None:
            total, count, cpu_s = total + kib, count + 1, cpu_s + cpu.get(pid, 0.0)
            todo += children.get(pid, [])
    return total, count, cpu_s


# --- load, pulls, metrics ----------------------------------------------------------------

class Load:
    """Client threads, each a new connection per request, cycling the routes."""

    def __init__(self, port, clients, timeout):
        self.port, self.timeout = port, timeout
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.done, self.failed, self.latencies, self.all_latencies = 0, 0, [], []
        self.error_kinds = {}
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True)
                        for i in range(clients)]
        for t in self.threads:
            t.start()

    def request(self, route):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request("GET", route)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                return f"HTTP {response.status}"
            return None if body else "empty body"
        finally:
            conn.close()

    def client(self, index):
        turn = index
        while not self.stopping.is_set():
            start = time.perf_counter()
            try:
                error = self.request(ROUTES[turn % len(ROUTES)])
            except (OSError, http.client.HTTPException) as e:
                error = type(e).__name__
            elapsed = time.perf_counter() - start
            turn += 1
            with self.lock:
                if error:
                    self.failed += 1
                    self.error_kinds[error] = self.error_kinds.get(error, 0) + 1
                else:
                    self.done += 1
                    self.latencies.append(elapsed)
            if error:
                self.stopping.wait(0.1)  # no busy loop against a server that is down

    def take(self):
        """Requests done and failed, and latencies, since the last take."""
        with self.lock:
            taken = self.done, self.failed, self.latencies
            self.done, self.failed, self.latencies = 0, 0, []
        self.all_latencies += taken[2]
        return taken

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(self.timeout + 5)


def http_get(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def pull_loop(base, interval, stopping, t0, pulls):
    """Every interval: GET /debug/pprof/profile?seconds=1, timed."""
    while not stopping.wait(interval):
        start = time.perf_counter()
        try:
            body = http_get(base + "/debug/pprof/profile?seconds=1", timeout=120)
            error = None if body[:2] == b"\x1f\x8b" else "not a gzipped pprof"
        except Exception as e:  # any failure is a result to report
            body, error = b"", f"{type(e).__name__}: {e}"
        pulls.append({"t": round(time.monotonic() - t0, 1),
                      "latency_s": round(time.perf_counter() - start, 4),
                      "bytes": len(body), "error": error})


def scrape_metrics(base, timeout=30):
    """The rpprof_* samples of /metrics, as {name: value}."""
    values = {}
    for line in http_get(base + "/metrics", timeout=timeout).decode().splitlines():
        if line.startswith("rpprof_"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                pass
    return values


def agent_memory(base):
    """From the agent's /metrics: the bytes glibc's malloc has handed out (KiB) and the
    aggregator's frames, stacks and threads; {} when it does not answer within 5 s."""
    try:
        values = scrape_metrics(base, timeout=5)
    except Exception:
        return {}
    names = {"rpprof_malloc_in_use_bytes": "malloc_kib", "rpprof_aggregator_frames": "frames",
             "rpprof_aggregator_stacks": "stacks", "rpprof_aggregator_threads": "agg_threads"}
    return {key: round(values[name] / 1024) if name.endswith("_bytes") else int(values[name])
            for name, key in names.items() if name in values}


# --- serve: the soak ---------------------------------------------------------------------

def soak_one(args, mode):
    name = label(args, mode)
    prog = Program(args, mode, args.out_dir / f"{args.app}-{name}", [str(APPS[args.app]), "0"])
    log(f"[{args.app} {name}] {shlex.join(prog.cmd)}")
    result = {"app": args.app, "mode": mode, "label": name, "alloc": uses_alloc(args, mode),
              "command": prog.cmd, "clients": args.clients, "duration_s": args.duration,
              "rss": [], "rates": [], "pulls": [], "metrics": {}}
    load = None
    pulls_stop = threading.Event()
    puller = None
    try:
        port = int(prog.wait_for(r"listening on (\d+)", "stdout", args.start_timeout).group(1))
        base = None
        if mode.startswith("agent"):
            base = prog.wait_for(r"agent on (http://\S+)", "stderr", 30).group(1).rstrip("/")
        result["startup_s"] = round(time.monotonic() - prog.started, 2)
        cpu0 = cpu_last = process_tree(prog.proc.pid)[2]
        load = Load(port, args.clients, args.request_timeout)
        t0, times0 = time.monotonic(), os.times()
        if base:
            puller = threading.Thread(target=pull_loop, daemon=True,
                                      args=(base, args.pull_interval, pulls_stop, t0, result["pulls"]))
            puller.start()
        rss_k, rate_k, last_take, rss_now = 1, 1, t0, None
        end = t0 + args.duration
        while True:
            now = time.monotonic()
            if prog.proc.poll() is not None:
                result["exited_early"] = f"exit status {prog.proc.returncode} at {now - t0:.0f} s"
                log(f"  exited early: {result['exited_early']}\n{prog.tail()}")
                break
            if now >= t0 + rss_k * args.rss_interval:
                kib, procs, cpu_s = process_tree(prog.proc.pid)
                point = {"t": rss_k * args.rss_interval, "kib": kib, "processes": procs,
                         "cpu_s": round(cpu_s - cpu0, 2)}
                if base:  # the agent's own account: held (malloc) against resident
                    point.update(agent_memory(base))
                result["rss"].append(point)
                rss_now, rss_k, cpu_last = kib, rss_k + 1, cpu_s
            if now >= t0 + rate_k * args.rate_interval or now >= end:
                done, failed, lat = load.take()
                seconds = now - last_take
                if seconds > 0.5:
                    boundary = now >= t0 + rate_k * args.rate_interval  # else the last, partial one
                    t = rate_k * args.rate_interval if boundary else args.duration
                    entry = {"t": t, "req_s": round(done / seconds, 2), "errors": failed,
                             "p50_ms": round(1000 * (percentile(lat, 50) or 0), 2),
                             "p99_ms": round(1000 * (percentile(lat, 99) or 0), 2)}
                    result["rates"].append(entry)
                    rss_text = f", RSS {rss_now / MIB:.1f} MiB" if rss_now else ""
                    log(f"  {t:>5g} s: {entry['req_s']:8.1f} req/s, {failed} errors, "
                        f"p99 {entry['p99_ms']:.1f} ms{rss_text}")
                last_take, rate_k = now, rate_k + 1
            if now >= end:
                break
            wake = min(t0 + rss_k * args.rss_interval, t0 + rate_k * args.rate_interval, end)
            time.sleep(max(0.01, min(1.0, wake - time.monotonic())))
        result["load_s"] = round(last_take - t0, 2)
        if prog.proc.poll() is None:
            cpu_last = process_tree(prog.proc.pid)[2]
        result["server_cpu_s"] = round(cpu_last - cpu0, 2)
        times1 = os.times()  # this process: the client threads (is the load generator the limit?)
        result["client_cpu_s"] = round(times1.user + times1.system - times0.user - times0.system, 2)
        pulls_stop.set()
        if puller:
            puller.join(130)
        load.stop()
        result["errors_by_kind"] = load.error_kinds
        if base and prog.proc.poll() is None:
            try:
                result["metrics"] = scrape_metrics(base)
                log("  /metrics: " + ", ".join(f"{k} {v:g}" for k, v in result["metrics"].items()))
            except Exception as e:
                result["metrics_error"] = f"{type(e).__name__}: {e}"
    except RuntimeError as e:
        result["failed"] = str(e)
        log(f"  failed: {e}")
    finally:
        pulls_stop.set()
        if load:
            load.stop()
        result["exit_status"] = prog.stop(args.stop_timeout)
    if mode == "record":
        result["profile_bytes"] = prog.profile_bytes()
        if not result["profile_bytes"]:
            log(f"  record wrote no profile:\n{prog.tail()}")
    result["stderr_tail"] = prog.tail(8)
    result["summary"] = summarise(result, load)
    return result


def summarise(r, load):
    s = {}
    seconds = r.get("load_s")
    if load and seconds:
        s["requests"] = len(load.all_latencies)
        s["req_s"] = round(s["requests"] / seconds, 2)
        s["errors"] = sum(e["errors"] for e in r["rates"])
        if s["requests"] and r.get("server_cpu_s"):
            s["cpu_ms_per_req"] = round(1000 * r["server_cpu_s"] / s["requests"], 3)
        s["p50_ms"] = round(1000 * percentile(load.all_latencies, 50), 2) if load.all_latencies else None
        s["p99_ms"] = round(1000 * percentile(load.all_latencies, 99), 2) if load.all_latencies else None
    rss = [p["kib"] for p in r["rss"]]
    if rss:
        s.update(rss_first_mib=round(rss[0] / MIB, 1), rss_last_mib=round(rss[-1] / MIB, 1),
                 rss_max_mib=round(max(rss) / MIB, 1), rss_growth_mib=round((rss[-1] - rss[0]) / MIB, 1))
        malloc = [p["malloc_kib"] for p in r["rss"] if "malloc_kib" in p]
        if len(malloc) >= 2:
            s["malloc_growth_mib"] = round((malloc[-1] - malloc[0]) / MIB, 1)
        half = r["rss"][len(r["rss"]) // 2:]
        if len(half) >= 3 and half[-1]["t"] - half[0]["t"] >= 120:  # least squares, MiB per hour
            ts, ks = [p["t"] for p in half], [p["kib"] for p in half]
            mt, mk = sum(ts) / len(ts), sum(ks) / len(ks)
            var = sum((t - mt) ** 2 for t in ts)
            slope = sum((t - mt) * (k - mk) for t, k in zip(ts, ks)) / var if var else 0
            s["rss_slope_mib_per_h"] = round(slope * 3600 / MIB, 1)
    ok = [p["latency_s"] for p in r["pulls"] if not p["error"]]
    if r["pulls"]:
        s.update(pulls=len(r["pulls"]), pull_errors=len(r["pulls"]) - len(ok),
                 pull_p50_s=percentile(ok, 50), pull_p99_s=percentile(ok, 99),
                 pull_max_s=max(ok) if ok else None)
    if "rpprof_overhead_ratio" in r["metrics"]:
        s["overhead_ratio"] = r["metrics"]["rpprof_overhead_ratio"]
    return s


# --- threads: thread churn ---------------------------------------------------------------

CHURN_LINE = re.compile(r"threads (\d+) rss_kib (\d+) os_threads (\d+) elapsed_s ([0-9.]+)")


def churn_one(args, mode):
    name = label(args, mode)
    script = [str(HERE / "thread_churn.py"), str(args.threads), str(args.batch), str(args.every),
              str(args.work)]
    prog = Program(args, mode, args.out_dir / f"threads-{name}", script)
    log(f"[threads {name}] {shlex.join(prog.cmd)}")
    seen, deadline = 0, prog.started + args.timeout
    while prog.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(1)
        lines = prog.stdout.read_text().splitlines()
        for line in lines[seen:]:
            log(f"  {line}")
        seen = len(lines)
    timed_out = prog.proc.poll() is None
    status = prog.stop(args.stop_timeout)
    points = [{"threads": int(m[1]), "rss_kib": int(m[2]), "os_threads": int(m[3]),
               "elapsed_s": float(m[4])} for m in CHURN_LINE.finditer(prog.stdout.read_text())]
    for line in prog.stdout.read_text().splitlines()[seen:]:
        log(f"  {line}")
    result = {"mode": mode, "label": name, "alloc": uses_alloc(args, mode), "command": prog.cmd,
              "threads": args.threads, "batch": args.batch, "work": args.work, "points": points,
              "exit_status": status,
              "timed_out": timed_out, "wall_s": round(time.monotonic() - prog.started, 1),
              "stderr_tail": prog.tail(8)}
    if mode == "record":
        result["profile_bytes"] = prog.profile_bytes()
        if not result["profile_bytes"]:
            log(f"  record wrote no profile:\n{prog.tail()}")
    if points:
        first, last = points[0], points[-1]
        result["summary"] = {"from_threads": first["threads"], "to_threads": last["threads"],
                             "rss_from_mib": round(first["rss_kib"] / MIB, 1),
                             "rss_to_mib": round(last["rss_kib"] / MIB, 1),
                             "growth_mib": round((last["rss_kib"] - first["rss_kib"]) / MIB, 1),
                             "os_threads_end": last["os_threads"], "churn_s": last["elapsed_s"]}
    else:
        result["summary"] = {}
        log(f"  no output from thread_churn.py:\n{prog.tail()}")
    return result


# --- output ------------------------------------------------------------------------------

def fmt(value, spec=".1f"):
    return "-" if value is None else format(value, spec)


def serve_table(runs):
    head = ("app", "mode", "req/s", "errors", "p50 ms", "p99 ms", "CPU ms/req", "RSS first",
            "last", "max", "growth", "MiB/h", "pull p50", "p99", "max", "overhead")
    rows = [head]
    for r in runs:
        s = r["summary"]
        rows.append((r["app"], r["label"], fmt(s.get("req_s")), fmt(s.get("errors"), "d"),
                     fmt(s.get("p50_ms")), fmt(s.get("p99_ms")), fmt(s.get("cpu_ms_per_req"), ".2f"),
                     fmt(s.get("rss_first_mib")), fmt(s.get("rss_last_mib")), fmt(s.get("rss_max_mib")),
                     fmt(s.get("rss_growth_mib"), "+.1f"), fmt(s.get("rss_slope_mib_per_h"), "+.1f"),
                     fmt(s.get("pull_p50_s"), ".3f"), fmt(s.get("pull_p99_s"), ".3f"),
                     fmt(s.get("pull_max_s"), ".3f"), fmt(s.get("overhead_ratio"), ".4f")))
    return text_table(rows) + "\n(RSS in MiB, pulls in seconds; growth = last - first sample)"


def threads_table(runs):
    rows = [("mode", "threads", "churn s", "RSS from", "RSS to", "growth MiB", "OS threads", "exit")]
    for r in runs:
        s = r["summary"]
        rows.append((r["label"], f"{s.get('from_threads', '-')}..{s.get('to_threads', '-')}",
                     fmt(s.get("churn_s")), fmt(s.get("rss_from_mib")), fmt(s.get("rss_to_mib")),
                     fmt(s.get("growth_mib"), "+.1f"), str(s.get("os_threads_end", "-")),
                     str(r["exit_status"]) + (" (timed out)" if r["timed_out"] else "")))
    return text_table(rows)


def text_table(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).rjust(w) for c, w in zip(row, widths)) for row in rows)


def span(seconds):
    return f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"


def mmss(seconds):
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def md_table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def serve_markdown(runs):
    apps = {r["app"] for r in runs}
    cols = [r["label"] if len(apps) == 1 else f"{r['app']} {r['label']}" for r in runs]
    first = runs[0]
    spans = sorted({r["duration_s"] for r in runs})
    each = span(spans[0]) if len(spans) == 1 else f"{span(spans[0])} to {span(spans[-1])}"
    out = [f"### Soak: {' and '.join(sorted(apps))} service, {each} per mode, "
           f"{first['clients']} clients", "",
           "A thread-per-request service (`benches/soak/`) loaded by client threads, a new "
           "connection per request, cycling `/cpu`, `/page` and `/json`.", "",
           "Resident memory (MiB, the server process and any children):", ""]
    times = sorted({p["t"] for r in runs for p in r["rss"]})
    by_t = [{p["t"]: p["kib"] for p in r["rss"]} for r in runs]
    rows = [[mmss(t)] + [fmt(m[t] / MIB if t in m else None) for m in by_t] for t in times]
    rows.append(["growth"] + [fmt(r["summary"].get("rss_growth_mib"), "+.1f") for r in runs])
    out += md_table(["elapsed", *cols], rows)
    held = [(c, r) for c, r in zip(cols, runs) if "malloc_growth_mib" in r["summary"]]
    if held:
        out += ["", "The agent's `/metrics` at the same times: `rpprof_malloc_in_use_bytes` (MiB "
                "glibc's malloc has handed out; resident memory growing while this stays flat is "
                "fragmentation) and the aggregator's frames, stacks and threads:", ""]
        times = sorted({p["t"] for _, r in held for p in r["rss"]})
        by_t = [{p["t"]: p for p in r["rss"]} for _, r in held]
        def cell(p):
            if not p or "malloc_kib" not in p:
                return "-"
            held = ", ".join(str(p.get(k, "-")) for k in ("frames", "stacks", "agg_threads"))
            return f"{p['malloc_kib'] / MIB:.1f} ({held})"
        rows = [[mmss(t)] + [cell(m.get(t)) for m in by_t] for t in times]
        rows.append(["growth"] + [fmt(r["summary"]["malloc_growth_mib"], "+.1f") for _, r in held])
        out += md_table(["elapsed", *(f"{c}: malloc (frames, stacks, threads)" for c, _ in held)], rows)
    out += ["", "Throughput (requests per second):", ""]
    times = sorted({e["t"] for r in runs for e in r["rates"]})
    by_t = [{e["t"]: e["req_s"] for e in r["rates"]} for r in runs]
    rows = [[mmss(t)] + [fmt(m.get(t)) for m in by_t] for t in times]
    rows.append(["mean"] + [fmt(r["summary"].get("req_s")) for r in runs])
    rows.append(["errors"] + [fmt(r["summary"].get("errors"), "d") for r in runs])
    rows.append(["p99 ms"] + [fmt(r["summary"].get("p99_ms")) for r in runs])
    rows.append(["server CPU ms per request"]
                + [fmt(r["summary"].get("cpu_ms_per_req"), ".2f") for r in runs])
    out += md_table(["interval ending", *cols], rows)
    agents = [(c, r) for c, r in zip(cols, runs) if r["pulls"] or r["metrics"]]
    if agents:
        every = agents[0][1].get("pull_interval_s", 30)
        out += ["", f"Agent: `GET /debug/pprof/profile?seconds=1` every {every:g} s (latency in "
                "seconds), and `rpprof_overhead_ratio` from `/metrics` at the end:", ""]
        rows = [[c, s.get("pulls", 0), *(fmt(s.get(k), ".3f") for k in ("pull_p50_s", "pull_p99_s",
                                                                           "pull_max_s")),
                 s.get("pull_errors", 0), fmt(s.get("overhead_ratio"), ".4f"),
                 fmt(m.get("rpprof_samples_total"), ".0f"),
                 fmt(m.get("rpprof_samples_dropped_total"), ".0f")]
                for c, s, m in ((c, r["summary"], r["metrics"]) for c, r in agents)]
        out += md_table(["mode", "pulls", "p50", "p99", "max", "errors", "overhead ratio", "samples",
                         "dropped"], rows)
    return "\n".join(out)


def threads_markdown(runs):
    n = runs[0]["threads"]
    out = [f"### Thread churn: {n:,} threads started and joined", "",
           f"`benches/soak/thread_churn.py`: threads started {runs[0]['batch']} at a time and "
           "joined, each summing range(100)"
           + (f" and building a dict of {runs[0]['work']} lists" if runs[0].get("work") else "")
           + "; resident memory from `/proc/self/status`.", ""]
    rows = [[r["label"], fmt(r["summary"].get("churn_s")), fmt(r["summary"].get("rss_from_mib")),
             fmt(r["summary"].get("rss_to_mib")), fmt(r["summary"].get("growth_mib"), "+.1f"),
             r["summary"].get("os_threads_end", "-")] for r in runs]
    first = runs[0]["summary"].get("from_threads", "first report")
    return "\n".join(out + md_table(["mode", "seconds", f"RSS at {first} (MiB)", f"RSS at {n}",
                                     "growth (MiB)", "OS threads at the end"], rows))


def machine():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {cpu}, Linux {platform.release()}"


def markdown(docs):
    """Markdown fragments for the runs of some result documents, serve then threads."""
    parts = []
    for kind, render in (("serve", serve_markdown), ("threads", threads_markdown)):
        chosen = [d for d in docs if d["kind"] == kind]
        if chosen:
            when, where, binaries = ({d[k] for d in chosen if d[k]} for k in ("measured", "machine",
                                                                             "rpprof"))
            parts.append(render([r for d in chosen for r in d["runs"]]) + "\n\n"
                         f"_Measured {', '.join(sorted(when))} on {'; '.join(sorted(where))}; "
                         f"CPython {chosen[0]['python']}"
                         + "".join(f", rpprof `{b}`" for b in sorted(binaries)) + "._")
    return "\n\n".join(parts)


def emit(args, kind, runs):
    print(serve_table(runs) if kind == "serve" else threads_table(runs))
    document = {"kind": kind, "measured": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
                "python": platform.python_version(), "runs": runs,
                "rpprof": str(args.rpprof) if any(m != "python" for m in args.modes) else None}
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
        log(f"wrote {args.json}")
    if args.markdown:
        print("\n" + markdown([document]))


# --- command line ------------------------------------------------------------------------

def parse(argv):
    kind = argv[0] if argv and argv[0] in ("serve", "threads", "render") else "serve"
    argv = argv[1:] if argv and argv[0] == kind else argv
    p = argparse.ArgumentParser(prog=f"soak.py {kind}", description=__doc__.split("\n\n")[0])
    if kind == "render":
        p.add_argument("files", nargs="+", help="JSON files written by --json")
        return kind, p.parse_args(argv)
    p.add_argument("--mode", default="python", help=f"comma-separated, of: {', '.join(MODES)}")
    p.add_argument("--rpprof", type=Path, default=DEFAULT_RPPROF, help="the rpprof binary")
    p.add_argument("--python", default=sys.executable, help="CPython for --mode python")
    p.add_argument("--alloc", action="store_true", help="pass --alloc to record and agent modes")
    p.add_argument("--extra", default="",
                   help='more rpprof flags for record and agent modes: --extra="--window 1s"')
    p.add_argument("--out-dir", type=Path, default=HERE / "out", help="per-run logs, profiles, stores")
    p.add_argument("--stop-timeout", type=float, default=120, help="seconds to wait after each signal")
    p.add_argument("--json", help="write the results (with time series) here")
    p.add_argument("--markdown", action="store_true", help="also print a markdown fragment")
    p.add_argument("--tag", default="", help="added to each run's label: --tag MALLOC_ARENA_MAX=2")
    if kind == "serve":
        p.add_argument("--app", choices=sorted(APPS), default="flask")
        p.add_argument("--duration", type=float, default=600, help="seconds of load per mode")
        p.add_argument("--clients", type=int, default=4, help="client threads")
        p.add_argument("--rss-interval", type=float, default=30)
        p.add_argument("--rate-interval", type=float, default=60)
        p.add_argument("--pull-interval", type=float, default=30, help="agent modes")
        p.add_argument("--request-timeout", type=float, default=30)
        p.add_argument("--start-timeout", type=float, default=300, help="seconds to wait for the server")
    else:
        p.add_argument("--threads", type=int, default=100_000)
        p.add_argument("--batch", type=int, default=8, help="threads alive at once")
        p.add_argument("--every", type=int, default=10_000, help="report RSS every this many threads")
        p.add_argument("--work", type=int, default=0,
                       help="each thread also builds a dict of this many small lists")
        p.add_argument("--timeout", type=float, default=3600, help="seconds per mode at most")
    args = p.parse_args(argv)
    args.modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    bad = [m for m in args.modes if m not in MODES]
    if bad:
        p.error(f"unknown mode(s) {', '.join(bad)}; known: {', '.join(MODES)}")
    if any(m != "python" for m in args.modes) and not args.rpprof.is_file():
        p.error(f"no rpprof binary at {args.rpprof} (build it, or give --rpprof)")
    args.rpprof = args.rpprof.resolve() if args.rpprof.is_file() else args.rpprof
    args.out_dir = args.out_dir.resolve()
    return kind, args


def main():
    kind, args = parse(sys.argv[1:])
    if kind == "render":
        print(markdown([json.loads(Path(f).read_text()) for f in args.files]))
        return
    runs = []
    if kind == "serve":
        if args.app == "flask":
            ensure_deps()
        for mode in args.modes:
            run = soak_one(args, mode)
            run["pull_interval_s"] = args.pull_interval
            runs.append(run)
    else:
        runs = [churn_one(args, mode) for mode in args.modes]
    emit(args, kind, runs)


if __name__ == "__main__":
    main()
