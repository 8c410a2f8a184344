//! `rpprof top` in a real terminal: a tmux session runs it on a multithreaded script (and
//! on a running agent), the screen is read back with capture-pane, keys are sent with
//! send-keys. Skipped where tmux is missing (`.ci/run` installs it). Without a terminal, and
//! with an agent that does not answer, it says so in one line with status 1.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::tmux::{wait_for_status, Tmux};
use common::{rpprof, script, TempDir};

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
