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
    tmux.wait_for(&[&heading, "heavy (tid", "light (tid", "busy (", "running"]);
    tmux.keys("q");
    assert_eq!(wait_for_status(&status), "0");
    std::thread::sleep(Duration::from_millis(500));
    assert!(target.running(), "the target goes on after q");
}
