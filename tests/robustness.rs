//! Faults, bad input and hostile programs, through the binary: nothing crashes, nothing is
//! lost, every mistake gets one clear line.

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{read_folded, rpprof, run, samples_in, script, Ran, TempDir};

fn record(
    dir: &TempDir,
    name: &str,
    script_name: &str,
    args: &[&str],
) -> (Ran, flamegraph::Profile) {
    let out = dir.join(name);
    let ran = run(rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(&out)
        .arg(script(script_name))
        .args(args));
    let profile = read_folded(&out);
    (ran, profile)
}

#[test]
fn a_program_that_takes_sigprof_keeps_working_and_is_told_once() {
    let dir = TempDir::new("own-sigprof");
    let (ran, profile) = record(&dir, "p.folded", "own_sigprof.py", &[]);
    ran.expect_code(0);
    assert_eq!(
        ran.stdout, "own handler ran True\n",
        "the program's handler gets its own signals"
    );
    assert_eq!(
        ran.stderr.matches("SIGPROF handler").count(),
        1,
        "{}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("ITIMER_PROF"),
        "no second warning once SIGPROF is theirs"
    );
    assert!(
        samples_in(&profile, "busy") > 0,
        "samples from before the takeover are kept"
    );
}

#[test]
fn a_program_that_arms_itimer_prof_keeps_working_and_is_still_profiled() {
    let dir = TempDir::new("own-itimer");
    let (ran, profile) = record(&dir, "p.folded", "own_itimer.py", &[]);
    ran.expect_code(0);
    assert_eq!(ran.stdout, "survived\n");
    assert_eq!(
        ran.stderr.matches("ITIMER_PROF").count(),
        1,
        "{}",
        ran.stderr
    );
    // Its signals are ignored, not counted as samples: shares stay right.
    let busy = samples_in(&profile, "busy");
    assert!(busy > 20, "still profiled: {busy}");
}

#[test]
fn fork_profiles_the_parent_and_lets_the_child_run() {
    let dir = TempDir::new("fork");
    let (ran, profile) = record(&dir, "p.folded", "forker.py", &[]);
    ran.expect_code(0);
    assert_eq!(ran.stdout, "child done\nparent saw child exit 3\n");
    assert!(
        !ran.stderr.contains("multi-threaded"),
        "no warning about rpprof's own threads: {}",
        ran.stderr
    );
    assert_eq!(
        ran.stderr.matches("wrote").count(),
        1,
        "only the parent writes: {}",
        ran.stderr
    );
    assert!(samples_in(&profile, "busy") > 0);
}

#[test]
fn os_exit_still_writes_what_was_sampled() {
    let dir = TempDir::new("osexit");
    let (ran, profile) = record(&dir, "p.folded", "os_exit.py", &[]);
    ran.expect_code(5);
    assert_eq!(ran.stdout, "exiting\n");
    assert!(samples_in(&profile, "busy") > 10);
}

#[test]
fn a_thousand_short_threads_leave_nothing_behind() {
    let dir = TempDir::new("threads1000");
    let out = dir.join("p.folded");
    let pb = dir.join("p.pb.gz");
    let ran = run(rpprof()
        .args(["record", "--rate", "999", "-v", "-o"])
        .arg(&out)
        .arg("-o")
        .arg(&pb)
        .arg(script("many_threads.py")));
    ran.expect_code(0);
    let (done, timers) = ran.stdout.split_once('\n').unwrap();
    assert_eq!(done, "1000 threads done");
    let timers: usize = timers
        .trim()
        .strip_prefix("timers: ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        timers <= 4,
        "the exited threads' timers are deleted: {timers} left"
    );
    // By default the thousand threads (names that differ only in numbers) are one root,
    // and one row of the thread table.
    assert!(
        ran.stderr.contains("short-N-N ×"),
        "the thread table shows the group: {}",
        ran.stderr
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("short-N-N ×")),
        "the group is one root"
    );
    assert!(
        text.lines().all(|l| !l.starts_with("short-0-")),
        "no single-thread roots"
    );
    // pprof keeps every thread, with its group as a label; split, the table is cut short.
    let threads = rpprof::input::read_profile(&pb).unwrap();
    assert!(threads.threads.len() > 20, "{}", threads.threads.len());
    assert!(threads
        .threads
        .iter()
        .filter(|t| t.name.starts_with("short-"))
        .all(|t| t.group.as_deref() == Some("short-N-N")));
    assert_eq!(
        threads.total().get(0),
        read_folded(&out).total().get(0),
        "grouping loses nothing"
    );
    let report = run(rpprof()
        .arg("report")
        .arg(&pb)
        .args(["--threads", "split", "--top", "3"]));
    report.expect_code(0);
    assert!(
        report.stdout.contains("... and"),
        "split, the thread table is cut short: {}",
        report.stdout
    );
}

#[test]
fn deep_recursion_is_truncated_and_marked() {
    let dir = TempDir::new("deep3000");
    let out = dir.join("p.folded");
    run(rpprof()
        .args(["record", "--rate", "199", "--max-depth", "100", "-o"])
        .arg(&out)
        .arg(script("deep.py"))
        .arg("3000"))
    .expect_code(0);
    let profile = read_folded(&out);
    let deep: Vec<_> = profile.threads[0]
        .stacks
        .keys()
        .filter(|s| s.len() > 50)
        .collect();
    assert!(!deep.is_empty());
    for stack in deep {
        assert_eq!(profile.frames.get(stack[0]).function, "[truncated]");
        assert_eq!(stack.len(), 101);
    }
}

#[test]
fn unicode_and_non_utf8_names_come_out_readable_in_every_format() {
    let dir = TempDir::new("names");
    let out = |ext: &str| dir.join(&format!("u.{ext}"));
    let ran = run(rpprof()
        .args(["record", "--rate", "199"])
        .arg("-o")
        .arg(out("folded"))
        .arg("-o")
        .arg(out("svg"))
        .arg("-o")
        .arg(out("pb.gz"))
        .arg("-o")
        .arg(out("speedscope.json"))
        .arg(script("unicode_names.py")));
    ran.expect_code(0);
    let profile = read_folded(&out("folded"));
    assert!(samples_in(&profile, "计算") > 0);
    assert!(samples_in(&profile, "Ünïcode.méthode") > 0);
    let svg = std::fs::read_to_string(out("svg")).unwrap();
    assert!(svg.contains("计算"));
    let pprof = rpprof::input::read_profile(&out("pb.gz")).unwrap();
    assert!(samples_in(&pprof, "计算") > 0);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out("speedscope.json")).unwrap()).unwrap();
    assert!(json["shared"]["frames"].to_string().contains("计算"));

    // A module whose path is not UTF-8 (a lone surrogate in co_filename).
    let folded = dir.join("s.folded");
    let ran = run(rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(&folded)
        .arg(script("surrogate_path.py"))
        .arg(dir.path()));
    ran.expect_code(0);
    let text = std::fs::read_to_string(&folded).expect("the folded file is UTF-8");
    assert!(
        text.contains("spin (") && text.contains("surrogate_mod.py"),
        "{text}"
    );

    // A script path that is not UTF-8: one clear line, status 2, no panic.
    use std::os::unix::ffi::OsStrExt;
    let odd = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"odd\xffname.py"));
    std::fs::write(&odd, "print('hi')\n").unwrap();
    let ran = run(rpprof().arg("run").arg(&odd));
    ran.expect_code(2);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("not UTF-8"), "{}", ran.stderr);
}

#[test]
fn exec_and_eval_code_is_named_as_python_names_it() {
    let dir = TempDir::new("exec");
    let (ran, profile) = record(&dir, "p.folded", "exec_code.py", &[]);
    ran.expect_code(0);
    let mut seen = std::collections::BTreeSet::new();
    for (_, frame) in profile.frames.iter() {
        if let Some(n) = frame.function.strip_prefix("generated_") {
            // Each generated function is reported with the file it was compiled as.
            assert_eq!(frame.file, format!("generated_{n}.py"), "{frame:?}");
            seen.insert(n.to_owned());
        }
    }
    assert!(
        seen.len() >= 5,
        "many generated functions sampled: {seen:?}"
    );
    assert!(
        profile.frames.iter().any(|(_, f)| f.file == "<string>"),
        "eval'd code is <string>"
    );
}

#[test]
fn an_empty_profile_is_written_with_a_warning() {
    let dir = TempDir::new("empty");
    let out = dir.join("p.svg");
    // At 1 Hz the first sample is due after a second of CPU; `pass` ends long before.
    let ran = run(rpprof()
        .args(["record", "--rate", "1", "-o"])
        .arg(&out)
        .args(["-c", "pass"]));
    ran.expect_code(0);
    assert!(
        ran.stderr.contains("warning: no samples were recorded"),
        "{}",
        ran.stderr
    );
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("No samples were recorded."));
}

#[test]
fn sigterm_during_record_writes_the_profile_and_ends_as_sigterm() {
    let dir = TempDir::new("sigterm");
    let out = dir.join("p.folded");
    let mut child = rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(&out)
        .arg(script("sleeper_forever.py"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    std::thread::sleep(std::time::Duration::from_millis(400));
    // SAFETY: kill sends a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let ran = Ran::from(child.wait_with_output().unwrap());
    assert!(
        ran.signal == Some(libc::SIGTERM) || ran.code == Some(143),
        "{:?} {:?} {}",
        ran.code,
        ran.signal,
        ran.stderr
    );
    assert!(ran.stderr.contains("wrote"), "{}", ran.stderr);
    assert!(samples_in(&read_folded(&out), "work") > 0);
}

/// `rpprof agent` on loopback with 1 s windows in `store`, serving for `seconds`.
fn agent_on(store: &Path, seconds: u32) -> Command {
    let mut agent = rpprof();
    agent
        .args([
            "agent",
            "--listen",
            "127.0.0.1:0",
            "--window",
            "1s",
            "--store",
        ])
        .arg(store)
        .arg(script("service_for.py"))
        .arg(seconds.to_string());
    agent
}

#[test]
fn the_store_stays_consistent_when_the_agent_is_killed() {
    let dir = TempDir::new("agent-kill");
    let store = dir.join("store");
    let mut child = agent_on(&store, 30)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3500));
    // SIGKILL: no flush, no clean-up, as a crash would leave it.
    child.kill().unwrap();
    child.wait().unwrap();
    let windows = store.join("windows");
    let names: Vec<String> = std::fs::read_dir(&windows)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in names.iter().filter(|n| n.ends_with(".pb.gz")) {
        let bytes = std::fs::read(windows.join(name)).unwrap();
        flamegraph::format::parse_any(&bytes).unwrap_or_else(|e| panic!("{name} is whole: {e}"));
    }
    assert!(
        names.iter().any(|n| n.ends_with(".pb.gz")),
        "windows were written: {names:?}"
    );
    // A new agent on the same store starts, cleans leftovers and serves what is there.
    let ran = run(&mut agent_on(&store, 1));
    ran.expect_code(0);
    let left: Vec<String> = std::fs::read_dir(&windows)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files are cleaned: {left:?}");
}

#[test]
fn report_and_diff_refuse_bad_input_with_one_line() {
    let dir = TempDir::new("badfiles");
    let empty = dir.write("empty.folded", "");
    let truncated = dir.join("truncated.pb.gz");
    let mut good = Vec::new();
    flamegraph::pprof::write(
        &read_folded(&common::data("before.folded")),
        &flamegraph::WriteOptions::default(),
        &mut good,
    )
    .unwrap();
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    for input in [&empty, &truncated] {
        for command in ["report", "diff"] {
            let mut cmd = rpprof();
            cmd.arg(command).arg(input);
            if command == "diff" {
                cmd.arg(common::data("after.folded"))
                    .arg("-o")
                    .arg(dir.join("d.svg"));
            }
            let ran = run(&mut cmd);
            ran.expect_code(1);
            assert_eq!(
                ran.stderr.lines().count(),
                1,
                "{command} {input:?}: {}",
                ran.stderr
            );
            assert!(!ran.stderr.contains("panicked"));
        }
    }
}

#[test]
fn report_into_a_closed_pipe_ends_quietly() {
    let dir = TempDir::new("closed-pipe");
    let folded = dir.write(
        "p.folded",
        &(0..200)
            .map(|i| format!("MainThread (tid 1);f{i} (a.py:{i}) {}\n", i + 1))
            .collect::<String>(),
    );
    // The reader is gone before rpprof writes (`rpprof report p.folded | head -0`).
    let mut child = rpprof()
        .args(["report", "--top", "100"])
        .arg(&folded)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
