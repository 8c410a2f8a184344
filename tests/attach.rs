//! Attaching by PID (`record --pid`, `dump --pid`, `ps`), through the built binary, to real
//! scripts started with `rpprof run`, `rpprof SCRIPT` and a `python3` link: the profile
//! matches a plain `record` of the same program, every thread's stack is dumped, and every
//! refusal (a CPython, a dead pid, another user, a program that took the attach signal, a
//! second requester, a program already recording) is one line and status 1, never a hang,
//! with the target running on. A requester killed mid-recording leaves the target running
//! and attachable; a target that ends mid-recording still gets its profile written.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{percent, read_folded, rpprof, script, thread_samples, TempDir};

/// How a target was started.
#[derive(Clone, Copy, Debug)]
enum How {
    Run,
    Script,
    Python3Link,
    Record,
}

/// A running `attach_target.py`, killed when dropped.
struct Target {
    child: Child,
    stdout: BufReader<ChildStdout>,
    _dir: TempDir,
}

impl Target {
    fn start(how: How, seconds: &str, extra: &[&str]) -> Target {
        let dir = TempDir::new("attach-target");
        let target = script("attach_target.py");
        let mut command = match how {
            How::Run => {
                let mut c = rpprof();
                c.arg("run");
                c
            }
            How::Script => rpprof(),
            How::Python3Link => {
                let link = dir.join("python3");
                std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rpprof"), &link).unwrap();
                Command::new(link)
            }
            How::Record => {
                let mut c = rpprof();
                c.args(["record", "-o"])
                    .arg(dir.join("own.folded"))
                    .arg("--");
                c
            }
        };
        let mut child = command
            .arg(target)
            .arg(seconds)
            .args(extra)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "{how:?}");
        Target {
            child,
            stdout,
            _dir: dir,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the end and returns the last line printed.
    fn finish(mut self) -> String {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stdout, &mut rest);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
        rest.trim().to_owned()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with `args`, bounded by `limit`; (status, stdout, stderr).
fn bounded(args: &[&str], limit: Duration) -> common::Ran {
    let mut child = rpprof()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < limit, "rpprof {args:?} hung");
        std::thread::sleep(Duration::from_millis(20));
    }
    common::Ran::from(child.wait_with_output().unwrap())
}

/// A refusal: status 1, one line on stderr containing `expected`, within 5 s.
fn refused(args: &[&str], expected: &str) -> String {
    let ran = bounded(args, Duration::from_secs(8));
    ran.expect_code(1);
    let line = ran.stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(line.contains(expected), "{line}");
    assert!(!line.contains("panicked"), "{line}");
    line.to_owned()
}

/// heavy's share of heavy + light samples, in percent.
fn heavy_share(folded: &Path) -> f64 {
    share_of_at_least(folded, 15)
}

/// heavy's share, from at least `min` samples of heavy and light.
fn share_of_at_least(folded: &Path, min: u64) -> f64 {
    let profile = read_folded(folded);
    let heavy = thread_samples(&profile, "heavy");
    let light = thread_samples(&profile, "light");
    assert!(heavy + light >= min, "too few samples: {heavy} + {light}");
    percent(heavy, heavy + light)
}

fn record_pid(pid: &str, out: &Path, seconds: &str) -> common::Ran {
    let out = out.to_str().unwrap();
    let ran = bounded(
        &["record", "--pid", pid, "--duration", seconds, "-o", out],
        Duration::from_secs(30),
    );
    ran.expect_code(0);
    ran
}

#[test]
fn record_pid_matches_a_plain_record_for_every_way_of_starting() {
    let dir = TempDir::new("attach-shares");
    let plain = dir.join("plain.folded");
    common::run(
        rpprof()
            .args(["record", "-o"])
            .arg(&plain)
            .arg(script("attach_target.py"))
            .arg("6")
            .stdout(Stdio::null()),
    )
    .expect_code(0);
    let expected = share_of_at_least(&plain, 60);
    for how in [How::Run, How::Script, How::Python3Link] {
        let mut target = Target::start(how, "30", &[]);
        let out = dir.join(&format!("{how:?}.folded"));
        let ran = record_pid(&target.pid(), &out, "4");
        assert!(ran.stderr.contains("heavy (tid"), "{}", ran.stderr);
        let share = share_of_at_least(&out, 60);
        assert!(
            (share - expected).abs() <= 5.0,
            "{how:?}: heavy {share:.1}% attached, {expected:.1}% recorded"
        );
        assert!(target.running(), "{how:?}: the target goes on");
    }
}

#[test]
fn dump_pid_prints_every_thread_and_ps_lists_the_target() {
    let target = Target::start(How::Run, "30", &[]);
    let pid = target.pid();
    let ran = bounded(&["dump", "--pid", &pid], Duration::from_secs(10));
    ran.expect_code(0);
    for thread in ["\"MainThread\"", "\"heavy\"", "\"light\""] {
        assert!(ran.stdout.contains(thread), "{thread}:\n{}", ran.stdout);
    }
    assert!(ran.stdout.contains("attach_target.py:"), "{}", ran.stdout);
    let json = bounded(&["dump", "--pid", &pid, "--json"], Duration::from_secs(10));
    json.expect_code(0);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        value["threads"].as_array().unwrap().len(),
        3,
        "{}",
        json.stdout
    );
    let ps = bounded(&["ps"], Duration::from_secs(10));
    ps.expect_code(0);
    let row = ps
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(pid.as_str()))
        .unwrap_or_else(|| panic!("pid {pid} not listed:\n{}", ps.stdout));
    assert!(row.contains(" no ") && row.contains("ready"), "{row}");
    assert!(row.contains("attach_target.py"), "{row}");
}

#[test]
fn a_cpython_a_dead_pid_and_a_bad_pid_are_refused_in_one_line() {
    let mut python = Command::new("python3")
        .args(["-c", "import time; time.sleep(30)"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = python.id().to_string();
    refused(&["dump", "--pid", &pid], "is not an rpprof process");
    refused(
        &[
            "record",
            "--pid",
            &pid,
            "--duration",
            "1",
            "-o",
            "never-written.svg",
        ],
        "is not an rpprof process",
    );
    assert!(
        python.try_wait().unwrap().is_none(),
        "the CPython keeps running"
    );
    let _ = python.kill();
    let _ = python.wait();
    let mut done = Command::new("true").spawn().unwrap();
    let dead = done.id().to_string();
    done.wait().unwrap();
    refused(&["dump", "--pid", &dead], "no process with pid");
    refused(&["dump", "--pid", "0"], "not a process id");
}

#[test]
fn another_user_is_refused() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("skipped: needs root to run a requester as nobody");
        return;
    }
    let target = Target::start(How::Run, "30", &[]);
    let binary = env!("CARGO_BIN_EXE_rpprof");
    let output = Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            binary,
        ])
        .args(["dump", "--pid", &target.pid()])
        .current_dir("/")
        .output()
        .unwrap();
    let ran = common::Ran::from(output);
    ran.expect_code(1);
    assert!(ran.stderr.contains("belongs to root"), "{}", ran.stderr);
    assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
}

#[test]
fn a_program_that_took_the_signal_keeps_working_and_attach_says_why() {
    let target = Target::start(How::Script, "3", &["take-signal"]);
    refused(
        &["dump", "--pid", &target.pid()],
        "installed its own handler",
    );
    assert_eq!(target.finish(), "done signals=0");
}

#[test]
fn a_second_requester_and_a_recording_target_are_refused_clearly() {
    let dir = TempDir::new("attach-twice");
    let target = Target::start(How::Run, "30", &[]);
    let pid = target.pid();
    let out = dir.join("first.folded");
    let mut first = rpprof()
        .args(["record", "--pid", &pid, "--duration", "4", "-o"])
        .arg(&out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let second = dir.join("second.folded");
    refused(
        &[
            "record",
            "--pid",
            &pid,
            "--duration",
            "1",
            "-o",
            second.to_str().unwrap(),
        ],
        "is already attached by pid",
    );
    // Dumps are served meanwhile.
    bounded(&["dump", "--pid", &pid], Duration::from_secs(10)).expect_code(0);
    assert!(first.wait().unwrap().success());
    assert!(heavy_share(&out) > 50.0);

    let recording = Target::start(How::Record, "30", &[]);
    let pid = recording.pid();
    refused(
        &[
            "record",
            "--pid",
            &pid,
            "--duration",
            "1",
            "-o",
            second.to_str().unwrap(),
        ],
        "is already recording",
    );
    bounded(&["dump", "--pid", &pid], Duration::from_secs(10)).expect_code(0);
}

#[test]
fn a_killed_requester_leaves_the_target_running_and_attachable() {
    let dir = TempDir::new("attach-kill");
    let mut target = Target::start(How::Python3Link, "30", &[]);
    let pid = target.pid();
    let mut requester = rpprof()
        .args(["record", "--pid", &pid, "-o"])
        .arg(dir.join("killed.folded"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    requester.kill().unwrap(); // SIGKILL
    requester.wait().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(target.running(), "the target survives its requester");
    let again = dir.join("again.folded");
    record_pid(&pid, &again, "2");
    assert!(heavy_share(&again) > 50.0);
    assert!(target.running());
}

#[test]
fn a_target_that_ends_mid_recording_still_gets_its_profile_written() {
    let dir = TempDir::new("attach-ends");
    let target = Target::start(How::Run, "4", &[]);
    let out = dir.join("ended.folded");
    let ran = bounded(
        &[
            "record",
            "--pid",
            &target.pid(),
            "-o",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(20),
    );
    ran.expect_code(0);
    assert!(ran.stderr.contains("the target ended"), "{}", ran.stderr);
    assert!(ran.stderr.contains("the program ended"), "{}", ran.stderr);
    assert!(heavy_share(&out) > 50.0);
    assert!(target.finish().starts_with("done"));
}

#[test]
fn ctrl_c_ends_record_pid_and_the_profile_is_written() {
    let dir = TempDir::new("attach-ctrl-c");
    let mut target = Target::start(How::Script, "30", &[]);
    let out = dir.join("interrupted.folded");
    let requester = rpprof()
        .args(["record", "--pid", &target.pid(), "-o"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: kill(2) on our own child.
    assert_eq!(
        unsafe { libc::kill(requester.id() as i32, libc::SIGINT) },
        0
    );
    let ran = common::Ran::from(requester.wait_with_output().unwrap());
    ran.expect_code(0);
    assert!(ran.stderr.contains("wrote "), "{}", ran.stderr);
    assert!(!ran.stderr.contains("the target ended"), "{}", ran.stderr);
    assert!(heavy_share(&out) > 50.0);
    assert!(target.running());
}

#[test]
fn a_target_that_forks_while_attached_goes_on_and_its_children_run() {
    let dir = TempDir::new("attach-fork");
    let mut child = rpprof()
        .arg("run")
        .arg(script("attach_forker.py"))
        .arg("4")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let out = dir.join("forks.folded");
    let ran = record_pid(&child.id().to_string(), &out, "2");
    assert!(ran.stderr.contains("MainThread (tid"), "{}", ran.stderr);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(rest.trim().ends_with("ok"), "{rest}");
}
