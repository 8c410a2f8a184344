//! Wall mode with `--async`: waiting tasks' time is task-seconds, counted apart from the
//! threads' wall time in `record`'s summary line and in `report`'s top tables (fifty tasks
//! waiting one second are not fifty seconds of the thread).

mod common;

use common::{rpprof, run, script, TempDir};

/// The number before `suffix` in `text`: `1.05` of `(1.05 s wall`.
fn figure_before(text: &str, suffix: &str) -> f64 {
    let end = text
        .find(suffix)
        .unwrap_or_else(|| panic!("{suffix:?} in {text:?}"));
    let start = text[..end].rfind([' ', '(']).map_or(0, |i| i + 1);
    text[start..end]
        .parse()
        .unwrap_or_else(|_| panic!("a number before {suffix:?} in {text:?}"))
}

#[test]
fn waiting_tasks_are_task_seconds_not_thread_time() {
    let dir = TempDir::new("task-seconds");
    let pb = dir.join("t.pb.gz");
    let ran = run(rpprof()
        .args(["record", "--mode", "wall", "--async", "-o"])
        .arg(&pb)
        .arg(script("waiting_tasks.py"))
        .args(["50", "1"]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "done\n");
    let line = ran
        .stderr
        .lines()
        .find(|l| l.starts_with("rpprof: ") && l.contains(" from 1 threads"))
        .unwrap_or_else(|| panic!("a summary line in {}", ran.stderr));
    // One thread for about a second (plus start-up), fifty tasks of a second each.
    let wall = figure_before(line, " s wall)");
    let tasks = figure_before(line, " task-s)");
    assert!((0.8..=2.5).contains(&wall), "{wall} s wall: {line}");
    assert!((40.0..=60.0).contains(&tasks), "{tasks} task-s: {line}");

    let report = run(rpprof().arg("report").arg(&pb).args(["--top", "3"]));
    report.expect_code(0);
    let top = report.stdout.lines().next().unwrap();
    let wall = figure_before(top, " s wall;");
    let tasks = figure_before(top, " task-s)");
    assert!((0.8..=2.5).contains(&wall), "{top}");
    assert!((40.0..=60.0).contains(&tasks), "{top}");
}
