//! The live views of an attached process: `rpprof top --pid` in a real terminal (tmux; the
//! screen read back with capture-pane, keys sent with send-keys; skipped where tmux is
//! missing) and `rpprof agent --pid`, whose `/debug/pprof/profile` serves what the target
//! sampled. Quitting either leaves the target running.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::tmux::{wait_for_status, Tmux};
use common::{rpprof, script, TempDir};

/// `rpprof run attach_target.py 60`, after its `ready`; killed when dropped.
struct Target(Child);

impl Target {
    fn start() -> Target {
        let mut child = rpprof()
            .arg("run")
            .arg(script("attach_target.py"))
            .arg("60")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Target(child)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    fn running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn top_pid_shows_the_targets_threads_and_quits_with_q() {
    let mut target = Target::start();
    let dir = TempDir::new("attach-top");
    let status = dir.join("status");
    let command = format!(
        "{} top --pid {}; echo $? > {}",
        env!("CARGO_BIN_EXE_rpprof"),
        target.pid(),
        status.display()
    );
    let Some(tmux) = Tmux::start("attach-top", &command) else {
        return;
    };
    let pid = target.pid();
    let heading = format!("pid {pid}: attach_target.py");
    tmux.wait_for(&[&heading, "heavy (tid", "light (tid", "work (", "running"]);
    tmux.keys("q");
    assert_eq!(wait_for_status(&status), "0");
    std::thread::sleep(Duration::from_millis(500));
    assert!(target.running(), "the target goes on after q");
}

#[test]
fn agent_pid_serves_the_targets_profile_and_stopping_it_turns_profiling_off() {
    let mut target = Target::start();
    let pid = target.pid();
    let dir = TempDir::new("attach-agent");
    let mut agent = rpprof()
        .args(["agent", "--pid", &pid, "--listen", "127.0.0.1:0", "--store"])
        .arg(dir.join("store"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(agent.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains(&format!("for pid {pid}")), "{line}");
    let address = common::agent_address(&line);
    let (status, _, body) = common::http_get(&address, "/debug/pprof/profile?seconds=2", &[]);
    assert_eq!(status, 200);
    let profile = flamegraph::pprof::parse(&body).unwrap();
    let heavy = common::thread_samples(&profile, "heavy");
    let light = common::thread_samples(&profile, "light");
    assert!(heavy > light && light > 0, "heavy {heavy}, light {light}");
    let (status, _, body) = common::http_get(&address, "/debug/pprof/threads", &[]);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("dump --pid"));
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(agent.id() as i32, libc::SIGINT) }, 0);
    assert!(agent.wait().unwrap().success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(target.running());
    // Profiling is off in the target: no session runs there, and it can be attached again.
    let ps = common::run(rpprof().arg("ps"));
    let row = ps
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(pid.as_str()))
        .unwrap_or_else(|| panic!("{}", ps.stdout));
    assert!(row.contains(" no "), "{row}");
}
