//! Stack dumps through the binary, on a real multithreaded script: SIGQUIT under `run`,
//! `record` and `agent` prints every thread's stack and the program goes on;
//! `rpprof dump --agent` and `GET /debug/pprof/threads` show the same; an agent that does
//! not answer is one line and status 1.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};

use common::{http_get, rpprof, script};

/// Starts `rpprof ARGS... three_threads.py SECONDS` and waits for its `ready`.
fn start(args: &[&str], seconds: &str) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = rpprof()
        .args(args)
        .arg(script("three_threads.py"))
        .arg(seconds)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    (child, stdout)
}

fn sigquit(child: &Child) {
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) }, 0);
}

/// The block of the dump text about `thread`: its heading and frames.
fn thread_block<'a>(text: &'a str, thread: &str) -> &'a str {
    let heading = format!("\"{thread}\" (");
    let start = text
        .find(&heading)
        .unwrap_or_else(|| panic!("no thread {thread} in:\n{text}"));
    let rest = &text[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    &rest[..end]
}

/// Checks a dump's text: every thread, in the right function, in the right state.
fn check_dump_text(text: &str) {
    let spinner = thread_block(text, "spinner");
    assert!(spinner.contains("(running, "), "{spinner}");
    assert!(
        spinner.contains("    spin (") && spinner.contains("three_threads.py:"),
        "{spinner}"
    );
    let sleeper = thread_block(text, "sleeper");
    assert!(sleeper.contains("(idle, "), "{sleeper}");
    assert!(
        sleeper.contains("nap (") && sleeper.contains("three_threads.py:26)"),
        "{sleeper}"
    );
    assert!(sleeper.contains("    [idle] time.sleep\n"), "{sleeper}");
    let blocked = thread_block(text, "blocked");
    assert!(blocked.contains("(idle, "), "{blocked}");
    assert!(
        blocked.contains("wait_on_lock (") && blocked.contains("three_threads.py:30)"),
        "{blocked}"
    );
    assert!(blocked.contains("    [idle] gate.__enter__\n"), "{blocked}");
    let main = thread_block(text, "MainThread");
    assert!(main.contains("<module> ("), "{main}");
    assert!(text.contains(" cpu)"), "CPU seconds are shown:\n{text}");
}

#[test]
fn sigquit_under_run_and_record_prints_every_stack_and_the_program_goes_on() {
    let dir = common::TempDir::new("dump-sigquit");
    let out = dir.join("p.folded");
    for args in [
        vec!["run"],
        vec!["record", "-o", out.to_str().unwrap(), "--"],
    ] {
        let (mut child, mut stdout) = start(&args, "3");
        std::thread::sleep(std::time::Duration::from_millis(500));
        sigquit(&child);
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(rest.trim(), "done", "the program went on after the dump");
        assert!(stderr.contains("rpprof: SIGQUIT: stack dump"), "{stderr}");
        check_dump_text(&stderr);
    }
    assert!(out.exists(), "record still wrote its profile");
}

#[test]
fn an_agent_serves_its_threads_stacks_and_dump_prints_them() {
    let dir = common::TempDir::new("dump-agent");
    let (mut child, address, mut stderr) = common::start_agent(
        &dir.join("store"),
        &[],
        &script("three_threads.py"),
        &["6"],
        Stdio::null(),
    );
    std::thread::sleep(std::time::Duration::from_millis(800));

    let (status, _, body) = http_get(&address, "/debug/pprof/threads", &[]);
    assert_eq!(status, 200);
    check_dump_text(&String::from_utf8_lossy(&body));

    let (status, head, body) = http_get(&address, "/debug/pprof/threads?format=json", &[]);
    assert_eq!(status, 200);
    assert!(head.contains("application/json"), "{head}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let threads = json["threads"].as_array().unwrap();
    let sleeper = threads.iter().find(|t| t["name"] == "sleeper").unwrap();
    assert_eq!(sleeper["state"], "idle");
    assert_eq!(sleeper["waiting_in"], "time.sleep");
    assert_eq!(sleeper["frames"][0]["function"], "nap");
    assert_eq!(sleeper["frames"][0]["line"], 26);
    assert!(sleeper["cpu_seconds"].as_f64().unwrap() >= 0.0);
    let spinner = threads.iter().find(|t| t["name"] == "spinner").unwrap();
    assert!(spinner["cpu_seconds"].as_f64().unwrap() > 0.1, "{spinner}");

    let (status, _, body) = http_get(&address, "/debug/pprof/threads?format=xml", &[]);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));

    let url = format!("http://{address}");
    let dump = common::run(rpprof().args(["dump", "--agent", &url]));
    dump.expect_code(0);
    check_dump_text(&dump.stdout);
    let dump = common::run(rpprof().args(["dump", "--json", "--agent", &address]));
    dump.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&dump.stdout).unwrap();
    assert!(json["threads"].as_array().unwrap().len() >= 4);

    sigquit(&child);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    check_dump_text(&rest);
}

#[test]
fn an_agent_that_does_not_answer_is_one_line_and_status_1() {
    // A port nothing listens on: bound, then closed.
    let port = common::free_port();
    let ran = common::run(rpprof().args(["dump", "--agent", &format!("http://127.0.0.1:{port}")]));
    ran.expect_code(1);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("does not answer"), "{}", ran.stderr);
    let ran = common::run(rpprof().args(["dump", "--agent", "ftp://x"]));
    ran.expect_code(1);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
}
