//! `rpprof top` in a real terminal: a tmux session runs it on a multithreaded script (and
//! on a running agent), the screen is read back with capture-pane, keys are sent with
//! send-keys. Skipped where tmux is missing (`.ci/run` installs it). Without a terminal, and
//! with an agent that does not answer, it says so in one line with status 1.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{rpprof, script, TempDir};

/// A tmux server of this test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A server running `command` in a 150x40 window; None where tmux is missing.
    fn start(tag: &str, command: &str) -> Option<Tmux> {
        let found = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        let tmux = Tmux {
            socket: format!("rpprof-test-{tag}-{}", std::process::id()),
        };
        let status = tmux
            .command()
            .args(["new-session", "-d", "-x", "150", "-y", "40", command])
            .status()
            .unwrap();
        assert!(status.success());
        Some(tmux)
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(self
            .command()
            .args(["send-keys", keys])
            .status()
            .unwrap()
            .success());
    }

    /// Waits (up to 20 s) for the screen to show every one of `texts`; returns it.
    fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{texts:?} never shown:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The server is gone already when its one command has ended.
        let _ = self
            .command()
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
    }
}

/// Waits (up to 30 s) for the file a finished command writes its status to.
fn wait_for_status(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_owned();
            }
        }
        assert!(Instant::now() < deadline, "the command did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn top_shows_threads_and_functions_live_and_quits_with_q() {
    let dir = TempDir::new("top-live");
    let log = dir.join("program.log");
    let status = dir.join("status");
    let command = format!(
        "{} top --program-output {} {} 30; echo $? > {}",
        env!("CARGO_BIN_EXE_rpprof"),
        log.display(),
        script("three_threads.py").display(),
        status.display()
    );
    let Some(tmux) = Tmux::start("live", &command) else {
        return;
    };
    let screen = tmux.wait_for(&["spin (", "spinner (tid", "running", "sleeper (tid"]);
    assert!(screen.contains("rpprof top: three_threads.py"), "{screen}");
    assert!(
        screen.contains(&format!("program output: {}", log.display())),
        "{screen}"
    );
    assert!(
        screen.contains("%Own*") && screen.contains("OwnTime"),
        "{screen}"
    );
    assert!(screen.contains("Functions, all threads"), "{screen}");
    let sleeper = screen.lines().find(|l| l.contains("sleeper (tid")).unwrap();
    assert!(sleeper.contains("idle"), "{sleeper}");
    // The program's own output went to its file, not the screen.
    assert!(!screen.contains("ready"), "{screen}");

    // Sort by total time since the start.
    tmux.keys("4");
    tmux.wait_for(&["TotalTime*"]);
    // The thread filter: press t until the spinner's own functions are shown.
    for _ in 0..6 {
        if tmux.screen().contains("Functions of spinner") {
            break;
        }
        tmux.keys("t");
        std::thread::sleep(Duration::from_millis(300));
    }
    let screen = tmux.wait_for(&["Functions of spinner (tid"]);
    assert!(screen.contains("spin ("), "{screen}");
    tmux.keys("a");
    tmux.wait_for(&["Functions, all threads"]);

    // q ends the program as Ctrl-C would: KeyboardInterrupt in the main thread.
    tmux.keys("q");
    assert_eq!(wait_for_status(&status), "130");
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(output.starts_with("ready"), "{output}");
    assert!(output.contains("KeyboardInterrupt"), "{output}");
}

#[test]
fn top_watches_a_running_agent() {
    let dir = TempDir::new("top-agent");
    let (mut agent, address, _stderr) = common::start_agent(
        &dir.join("store"),
        &[],
        &script("three_threads.py"),
        &["30"],
        Stdio::null(),
    );
    let status = dir.join("status");
    let command = format!(
        "{} top --agent http://{address}; echo $? > {}",
        env!("CARGO_BIN_EXE_rpprof"),
        status.display()
    );
    if let Some(tmux) = Tmux::start("agent", &command) {
        let screen = tmux.wait_for(&["spin (", "spinner (tid", "blocked (tid"]);
        assert!(
            screen.contains(&format!("agent at http://{address}")),
            "{screen}"
        );
        tmux.keys("q");
        assert_eq!(wait_for_status(&status), "0");
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let _ = agent.wait();
}

#[test]
fn without_a_terminal_or_an_answering_agent_top_says_so() {
    let ran = common::run(rpprof().arg("top").arg(script("three_threads.py")).arg("1"));
    ran.expect_code(1);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("needs a terminal"), "{}", ran.stderr);

    let port = common::free_port();
    let ran = common::run(rpprof().args(["top", "--agent", &format!("127.0.0.1:{port}")]));
    ran.expect_code(1);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("does not answer"), "{}", ran.stderr);
}
