//! Naming what a thread waits on (`[idle] NAME`) and what builtin it runs (`[native] NAME`,
//! `--native`), through the binary on real scripts.

mod common;

use common::{percent, read_folded, rpprof, run, script, TempDir};
use flamegraph::Profile;

/// A thread's idle samples, and those of them whose leaf is `leaf` (under a frame whose
/// function is `caller`).
fn named_idle(profile: &Profile, thread: &str, caller: &str, leaf: &str) -> (u64, u64) {
    let t = profile
        .threads
        .iter()
        .find(|t| t.name == thread)
        .unwrap_or_else(|| panic!("thread {thread} sampled"));
    let (mut idle, mut named) = (0, 0);
    for (stack, values) in &t.stacks {
        let n = stack.len();
        let last = profile.frames.get(stack[n - 1]);
        if !last.is_idle() {
            continue;
        }
        idle += values.get(0);
        if last.function == leaf && n >= 2 && profile.frames.get(stack[n - 2]).function == caller {
            named += values.get(0);
        }
    }
    (named, idle)
}

fn record(dir: &TempDir, name: &str, script_name: &str, args: &[&str], extra: &[&str]) -> Profile {
    let out = dir.join(name);
    let ran = run(rpprof()
        .arg("record")
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(script(script_name))
        .args(args));
    ran.expect_code(0);
    read_folded(&out)
}

#[test]
fn each_blocked_thread_names_the_call_it_waits_in() {
    let dir = TempDir::new("waits");
    let profile = record(
        &dir,
        "waits.folded",
        "waits.py",
        &["2"],
        &["--mode", "wall"],
    );
    let expected = [
        ("lock_waiter", "lock_waiter", "[idle] lock.acquire"),
        ("with_waiter", "with_waiter", "[idle] with_lock.__enter__"),
        ("sleeper", "sleeper", "[idle] time.sleep"),
        ("socket_reader", "socket_reader", "[idle] conn.recv"),
        ("selector", "selector", "[idle] select.select"),
        ("pipe_reader", "pipe_reader", "[idle] f.read"),
        // Thread.join ends in the thread handle's join, a builtin.
        ("joiner", "Thread.join", "[idle] _os_thread_handle.join"),
    ];
    for (thread, caller, leaf) in expected {
        let (named, idle) = named_idle(&profile, thread, caller, leaf);
        assert!(idle > 100, "{thread}: {idle} idle samples");
        assert!(
            percent(named, idle) >= 90.0,
            "{thread}: {named} of {idle} idle samples end in {caller};{leaf}"
        );
    }
}

#[test]
fn wait_names_survive_pprof() {
    let dir = TempDir::new("waits-pprof");
    let pprof = dir.join("waits.pb.gz");
    run(rpprof()
        .args(["record", "--mode", "wall", "-o"])
        .arg(&pprof)
        .arg(script("waits.py"))
        .arg("1"))
    .expect_code(0);
    let folded = dir.join("back.folded");
    run(rpprof().arg("report").arg(&pprof).arg("-o").arg(&folded)).expect_code(0);
    let profile = read_folded(&folded);
    let (named, idle) = named_idle(
        &profile,
        "lock_waiter",
        "lock_waiter",
        "[idle] lock.acquire",
    );
    assert!(
        idle > 50 && percent(named, idle) >= 90.0,
        "{named} of {idle}"
    );
    // The thread table still counts them as idle (the state label and the named leaf agree).
    let thread = profile
        .threads
        .iter()
        .find(|t| t.name == "lock_waiter")
        .unwrap();
    let summary = flamegraph::summary::ThreadSummary::of(&profile, thread);
    assert!(
        percent(summary.idle, summary.samples) >= 90.0,
        "{} of {} idle",
        summary.idle,
        summary.samples
    );
}

#[test]
fn native_shows_time_inside_a_builtin_as_its_own_leaf() {
    let dir = TempDir::new("native");
    let with = record(&dir, "native.folded", "big_sort.py", &["8"], &["--native"]);
    let sort_line = |profile: &Profile| -> (u64, u64) {
        let mut on_line = 0;
        let mut in_sorted = 0;
        for t in &profile.threads {
            for (stack, values) in &t.stacks {
                let n = stack.len();
                let Some(k) = (0..n).rev().find(|&k| {
                    let f = profile.frames.get(stack[k]);
                    f.function == "work" && f.line == 13
                }) else {
                    continue;
                };
                on_line += values.get(0);
                if k + 2 == n && profile.frames.get(stack[n - 1]).function == "[native] sorted" {
                    in_sorted += values.get(0);
                }
            }
        }
        (in_sorted, on_line)
    };
    let (in_sorted, on_line) = sort_line(&with);
    assert!(on_line >= 30, "the sort line was sampled: {on_line}");
    assert!(
        percent(in_sorted, on_line) >= 90.0,
        "{in_sorted} of {on_line} samples of the sort line end in [native] sorted"
    );

    let without = record(&dir, "plain.folded", "big_sort.py", &["8"], &[]);
    let (in_sorted, on_line) = sort_line(&without);
    assert!(on_line >= 30);
    assert_eq!(in_sorted, 0, "no [native] leaves without --native");
    assert!(without.frames.iter().all(|(_, frame)| !frame.is_native()));
}

#[test]
fn native_names_a_builtin_called_with_keyword_unpacking() {
    let dir = TempDir::new("native-kwargs");
    let profile = record(&dir, "kw.folded", "kwargs_calls.py", &["6"], &["--native"]);
    // Samples whose innermost Python frame is `function`, and those of them that end in
    // `leaf` right under it.
    let ending = |function: &str, leaf: &str| -> (u64, u64) {
        let (mut named, mut all) = (0, 0);
        for t in &profile.threads {
            for (stack, values) in &t.stacks {
                let n = stack.len();
                let last = profile.frames.get(stack[n - 1]);
                let (python, tail) = if last.is_native() {
                    (n - 2, Some(last))
                } else {
                    (n - 1, None)
                };
                if profile.frames.get(stack[python]).function != function {
                    continue;
                }
                all += values.get(0);
                if tail.is_some_and(|f| f.function == leaf) {
                    named += values.get(0);
                }
            }
        }
        (named, all)
    };
    for (function, leaf) in [("work", "[native] sorted"), ("relay", "[native] f")] {
        let (named, all) = ending(function, leaf);
        assert!(all >= 20, "{function} sampled: {all}");
        assert!(
            percent(named, all) >= 80.0,
            "{named} of {all} samples in {function} end in {leaf}"
        );
    }
}

#[test]
fn the_in_script_api_takes_native() {
    let dir = TempDir::new("native-api");
    let out = dir.join("api.folded");
    let code = format!(
        "import random, rpprof\n\
         data = [random.random() for _ in range(200_000)]\n\
         with rpprof.profile({out:?}, native=True):\n\
         \x20   for _ in range(8):\n\
         \x20       s = sorted(data)\n",
        out = out.to_str().unwrap()
    );
    let script = dir.write("api.py", &code);
    run(rpprof().arg("run").arg(&script)).expect_code(0);
    let profile = read_folded(&out);
    let total: u64 = profile.threads.iter().map(|t| t.total().get(0)).sum();
    let in_sorted = common::samples_in(&profile, "[native] sorted");
    assert!(total >= 30, "{total} samples");
    assert!(
        percent(in_sorted, total) >= 70.0,
        "{in_sorted} of {total} samples in [native] sorted"
    );
}
