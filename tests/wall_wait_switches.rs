//! Wall mode on a thread that goes from one wait straight into another: each wait gets its
//! own time, whether microseconds or a millisecond of work lie between them (the ticker
//! decides "the stack may have moved" from the interpreter's frames, not from CPU time).

mod common;

use common::{percent, read_folded, rpprof, run, script, TempDir};

/// Records `script_name ARGS` in wall mode and returns each function's share (percent) of
/// the samples under any of `functions`.
fn shares(
    dir: &TempDir,
    name: &str,
    script_name: &str,
    args: &[&str],
    functions: &[&str],
) -> Vec<f64> {
    let out = dir.join(name);
    let ran = run(rpprof()
        .args(["record", "--mode", "wall", "-o"])
        .arg(&out)
        .arg(script(script_name))
        .args(args));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "done\n");
    let profile = read_folded(&out);
    let counts: Vec<u64> = functions
        .iter()
        .map(|f| common::samples_in(&profile, f))
        .collect();
    let total: u64 = counts.iter().sum();
    // Three waits of 0.5 s at 99 Hz: about 150 samples in all.
    assert!((120..=180).contains(&total), "{total} samples: {counts:?}");
    counts.iter().map(|&c| percent(c, total)).collect()
}

fn assert_thirds(shares: &[f64], what: &str) {
    for share in shares {
        assert!(
            (28.3..=38.3).contains(share),
            "{what}: each wait should get 33 +- 5%, got {shares:.1?}"
        );
    }
}

const SLEEPS: [&str; 3] = ["sleep_a", "sleep_b", "sleep_c"];

#[test]
fn back_to_back_sleeps_each_get_a_third() {
    let dir = TempDir::new("sleeps0");
    let got = shares(
        &dir,
        "a.folded",
        "three_sleeps.py",
        &["0", "sleep"],
        &SLEEPS,
    );
    assert_thirds(&got, "time.sleep, no work between");
}

#[test]
fn sleeps_a_millisecond_apart_each_get_a_third() {
    let dir = TempDir::new("sleeps1ms");
    let got = shares(
        &dir,
        "a.folded",
        "three_sleeps.py",
        &["0.001", "sleep"],
        &SLEEPS,
    );
    assert_thirds(&got, "time.sleep, 1 ms of work between");
}

#[test]
fn back_to_back_selects_each_get_a_third() {
    let dir = TempDir::new("selects0");
    let got = shares(
        &dir,
        "a.folded",
        "three_sleeps.py",
        &["0", "select"],
        &SLEEPS,
    );
    assert_thirds(&got, "select.select, no work between");
}

#[test]
fn socket_then_lock_waits_each_get_a_third() {
    let dir = TempDir::new("socklock");
    let got = shares(
        &dir,
        "a.folded",
        "socket_then_lock.py",
        &["0.5"],
        &["read_request", "wait_for_lock", "read_next_request"],
    );
    assert_thirds(&got, "socket recv, then lock, then socket");
}
