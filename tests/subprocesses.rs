//! `record --subprocesses`: Python children started through `sys.executable` (subprocess,
//! multiprocessing's spawn) or by `os.fork()` (multiprocessing's fork and forkserver) are
//! profiled and reach the parent's profile under a process root each; a child killed
//! mid-run keeps what it delivered; without the flag nothing changes.

mod common;

use std::path::Path;

use common::{rpprof, run, TempDir};
use flamegraph::Profile;

/// CPU work in `work`; the children measure their own CPU and the parent prints the sum.
const POOL: &str = r#"
import multiprocessing, sys, time

def work(n):
    start = time.process_time()
    total = 0
    for i in range(n):
        total += i * i % 7
    return time.process_time() - start

if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    with ctx.Pool(4) as pool:
        cpu = sum(pool.map(work, [400000] * 8))
    print(f"worker cpu {cpu:.3f}")
"#;

/// A CPU burner, run as a child; with a third argument, it writes its CPU time so far
/// there every 50 ms.
const BURN: &str = r#"
import os, sys, time

def burn(seconds):
    end = time.process_time() + seconds
    next_note = 0
    while time.process_time() < end:
        sum(i * i for i in range(1000))
        if len(sys.argv) > 2 and time.monotonic() > next_note:
            with open(sys.argv[2] + ".tmp", "w") as f:
                f.write(str(time.process_time()))
            os.replace(sys.argv[2] + ".tmp", sys.argv[2])
            next_note = time.monotonic() + 0.05

burn(float(sys.argv[1]))
print("burned")
"#;

fn read_pprof(path: &Path) -> Profile {
    let bytes = std::fs::read(path).expect("the profile was written");
    flamegraph::pprof::parse(&bytes).expect("pprof parses")
}

/// CPU seconds (from the samples' CPU values) in stacks holding `function`, in child
/// processes only.
fn child_cpu_in(profile: &Profile, function: &str) -> f64 {
    let ns: u64 = profile
        .threads
        .iter()
        .filter(|t| {
            t.process
                .as_ref()
                .is_some_and(|p| p.label.starts_with("python-child"))
        })
        .flat_map(|t| t.stacks.iter())
        .filter(|(stack, _)| {
            stack
                .iter()
                .any(|&id| profile.frames.get(id).function == function)
        })
        .map(|(_, values)| values.get(1))
        .sum();
    ns as f64 / 1e9
}

fn child_pids(profile: &Profile) -> Vec<u32> {
    let mut pids: Vec<u32> = profile
        .threads
        .iter()
        .filter_map(|t| t.process.as_ref())
        .filter(|p| p.label.starts_with("python-child"))
        .map(|p| p.pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// `POOL` ran under `ran` (it prints the workers' own CPU in `work`): at least four worker
/// processes are in `profile`, and their sampled CPU in `work` is within 15% of it.
fn expect_pool_workers_in(profile: &Profile, ran: &common::Ran, method: &str) {
    let worker_cpu: f64 = ran
        .stdout
        .trim()
        .strip_prefix("worker cpu ")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}", ran.stdout));
    assert!(child_pids(profile).len() >= 4, "{method}: {}", ran.stderr);
    let sampled = child_cpu_in(profile, "work");
    assert!(
        sampled >= 0.85 * worker_cpu && sampled <= 1.15 * worker_cpu,
        "{method}: {sampled:.3} s sampled in children, {worker_cpu:.3} s measured by them\n{}",
        ran.stderr
    );
}

/// A 4-worker `Pool.map` with `method`: every worker's CPU in `work` reaches the parent's
/// profile under the worker's process root.
fn pool_workers_are_profiled(method: &str) {
    let dir = TempDir::new(&format!("subproc-{method}"));
    let script = dir.write("pool.py", POOL);
    let (pb, folded) = (dir.join("p.pb.gz"), dir.join("p.folded"));
    let ran = run(rpprof()
        .args(["record", "--subprocesses", "-o"])
        .arg(&pb)
        .arg("-o")
        .arg(&folded)
        .arg(&script)
        .arg(method));
    ran.expect_code(0);
    expect_pool_workers_in(&read_pprof(&pb), &ran, method);
    let text = std::fs::read_to_string(&folded).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("python-child (pid ")
            && l.contains(";MainThread (tid ")
            && l.contains(";work (")
            && l.contains("pool.py:")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("python (pid ")),
        "the parent's own root: {text}"
    );
    assert!(
        ran.stderr.contains("[pid "),
        "a row per process and thread: {}",
        ran.stderr
    );
}

#[test]
fn spawned_pool_workers_are_profiled_under_their_process_roots() {
    pool_workers_are_profiled("spawn");
}

#[test]
fn forked_pool_workers_are_profiled_under_their_process_roots() {
    pool_workers_are_profiled("fork");
}

#[test]
fn forkserver_pool_workers_are_profiled_under_their_process_roots() {
    pool_workers_are_profiled("forkserver");
}

/// Children made by `os.fork()` on every path: a grandchild, a fork made on a thread whose
/// function then returns (the child must end, not be kept alive by the profiler), and a
/// child ended by SIGTERM (it delivers what it sampled up to the signal).
const FORKS: &str = r#"
import os, signal, sys, threading, time
here = os.path.dirname(os.path.abspath(__file__))

def burn(seconds, note=None):
    end = time.process_time() + seconds
    next_note = 0
    while time.process_time() < end:
        sum(i * i for i in range(1000))
        if note and time.monotonic() > next_note:
            with open(note + ".tmp", "w") as f:
                f.write(str(time.process_time()))
            os.replace(note + ".tmp", note)
            next_note = time.monotonic() + 0.05

def in_grandchild():
    burn(0.4)

def child_own():
    burn(0.4)

def in_child():
    pid = os.fork()
    if pid == 0:
        in_grandchild()
        os._exit(0)
    child_own()
    os.waitpid(pid, 0)

def in_thread_child():
    burn(0.4)

def forker():
    pid = os.fork()
    if pid == 0:
        in_thread_child()
        return
    os.waitpid(pid, 0)

def until_killed():
    burn(60, os.path.join(here, "cpu"))

pid = os.fork()
if pid == 0:
    in_child()
    os._exit(0)
os.waitpid(pid, 0)
thread = threading.Thread(target=forker)
thread.start()
thread.join()
pid = os.fork()
if pid == 0:
    until_killed()
    os._exit(0)
note = os.path.join(here, "cpu")
while not os.path.exists(note) or float(open(note).read()) < 1.5:
    time.sleep(0.02)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print(os.WTERMSIG(status))
"#;

#[test]
fn forked_children_are_profiled_however_they_end() {
    let dir = TempDir::new("subproc-forks");
    let script = dir.write("forks.py", FORKS);
    let pb = dir.join("p.pb.gz");
    let ran = run(rpprof()
        .args(["record", "--subprocesses", "-o"])
        .arg(&pb)
        .arg(&script));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "15\n", "{}", ran.stderr);
    let profile = read_pprof(&pb);
    assert_eq!(child_pids(&profile).len(), 4, "{}", ran.stderr);
    for function in ["child_own", "in_grandchild", "in_thread_child"] {
        let sampled = child_cpu_in(&profile, function);
        assert!(
            (0.25..0.6).contains(&sampled),
            "{function}: {sampled:.3} s sampled of 0.4 s\n{}",
            ran.stderr
        );
    }
    let used: f64 = std::fs::read_to_string(dir.join("cpu"))
        .unwrap()
        .parse()
        .unwrap();
    let sampled = child_cpu_in(&profile, "until_killed");
    // Sampled up to the signal, not only up to its last once-a-second delivery.
    assert!(
        sampled >= used - 0.35 && sampled <= used + 0.2,
        "until_killed: {sampled:.3} s sampled of {used:.3} s used\n{}",
        ran.stderr
    );
}

#[test]
fn a_subprocess_child_is_profiled() {
    let dir = TempDir::new("subproc-run");
    dir.write("burn.py", BURN);
    let parent = dir.write(
        "parent.py",
        "import subprocess, sys, os\n\
         here = os.path.dirname(os.path.abspath(__file__))\n\
         subprocess.run([sys.executable, os.path.join(here, 'burn.py'), '0.6'], check=True)\n\
         subprocess.run(['sh', '-c', 'echo from the shell'], check=True)\n",
    );
    let pb = dir.join("p.pb.gz");
    let ran = run(rpprof()
        .args(["record", "--subprocesses", "-o"])
        .arg(&pb)
        .arg(&parent));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "burned\nfrom the shell\n");
    let profile = read_pprof(&pb);
    assert_eq!(child_pids(&profile).len(), 1, "{}", ran.stderr);
    let root = profile
        .threads
        .iter()
        .filter_map(|t| t.process.as_ref())
        .find(|p| p.label.starts_with("python-child"))
        .unwrap();
    assert!(root.label.ends_with(" 0.6"), "{}", root.label);
    let sampled = child_cpu_in(&profile, "burn");
    assert!((0.45..0.75).contains(&sampled), "{sampled}");
}

#[test]
fn a_killed_child_keeps_what_it_delivered() {
    let dir = TempDir::new("subproc-kill");
    dir.write("burn.py", BURN);
    let parent = dir.write(
        "parent.py",
        "import subprocess, sys, os, time, signal\n\
         here = os.path.dirname(os.path.abspath(__file__))\n\
         note = os.path.join(here, 'cpu')\n\
         child = subprocess.Popen([sys.executable, os.path.join(here, 'burn.py'), '30', note])\n\
         time.sleep(2.6)\n\
         child.send_signal(signal.SIGKILL)\n\
         print(child.wait())\n",
    );
    let pb = dir.join("p.pb.gz");
    let ran = run(rpprof()
        .args(["record", "--subprocesses", "-o"])
        .arg(&pb)
        .arg(&parent));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "-9\n");
    let sampled = child_cpu_in(&read_pprof(&pb), "burn");
    let used: f64 = std::fs::read_to_string(dir.join("cpu"))
        .unwrap()
        .parse()
        .unwrap();
    // Killed 2.6 s after it started: the slices of its first whole seconds (all but at
    // most its last second and the start-up before `burn`) were delivered.
    assert!(
        sampled > 0.1 && sampled >= used - 1.3 && sampled <= used + 0.1,
        "{sampled} s sampled of {used} s used\n{}",
        ran.stderr
    );
}

#[test]
fn without_the_flag_children_run_unprofiled() {
    let dir = TempDir::new("subproc-off");
    let parent = dir.write(
        "parent.py",
        "import subprocess, sys\n\
         subprocess.run([sys.executable, '-c', \
         'import os; print(os.environ.get(\"RPPROF_SUBPROCESSES\"))'], check=True)\n",
    );
    let folded = dir.join("p.folded");
    let ran = run(rpprof().args(["record", "-o"]).arg(&folded).arg(&parent));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "None\n");
    let profile = common::read_folded(&folded);
    assert!(profile.threads.iter().all(|t| t.process.is_none()));
    assert!(!std::fs::read_to_string(&folded)
        .unwrap()
        .contains("python-child"));
}

#[test]
fn the_agent_profiles_forked_and_spawned_children() {
    for method in ["fork", "spawn"] {
        let dir = TempDir::new(&format!("subproc-agent-{method}"));
        let script = dir.write("pool.py", POOL);
        let ran = run(rpprof()
            .args([
                "agent",
                "--listen",
                "127.0.0.1:0",
                "--window",
                "1s",
                "--store",
            ])
            .arg(dir.join("store"))
            .arg("--subprocesses")
            .arg(&script)
            .arg(method));
        ran.expect_code(0);
        let mut all: Option<Profile> = None;
        for entry in std::fs::read_dir(dir.join("store/windows")).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let window = flamegraph::format::parse_any(&bytes).expect("a whole window");
            match &mut all {
                None => all = Some(window),
                Some(all) => all.merge(&window),
            }
        }
        expect_pool_workers_in(&all.expect("windows were stored"), &ran, method);
    }
}
