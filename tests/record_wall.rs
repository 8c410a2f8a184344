//! Wall-clock mode and thread states, through the binary: blocked threads are sampled and
//! marked idle in wall mode, and left out in CPU mode.

mod common;

use common::{percent, read_folded, rpprof, run, script, thread_samples, TempDir};
use flamegraph::Profile;

/// Samples of a thread whose stack ends in `[idle]`, and all its samples.
fn idle_and_total(profile: &Profile, thread: &str) -> (u64, u64) {
    let t = profile
        .threads
        .iter()
        .find(|t| t.name == thread)
        .unwrap_or_else(|| panic!("thread {thread} sampled"));
    let idle = t
        .stacks
        .iter()
        .filter(|(s, _)| profile.frames.get(*s.last().unwrap()).is_idle())
        .map(|(_, c)| c.get(0))
        .sum();
    (idle, t.total().get(0))
}

fn record(dir: &TempDir, name: &str, extra: &[&str]) -> (common::Ran, Profile) {
    let out = dir.join(name);
    let ran = run(rpprof()
        .arg("record")
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(script("states.py"))
        .arg("2"));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "done\n");
    let profile = read_folded(&out);
    (ran, profile)
}

#[test]
fn wall_mode_sees_sleeping_spinning_and_blocked_threads() {
    let dir = TempDir::new("wall");
    let (ran, profile) = record(&dir, "wall.folded", &["--mode", "wall", "--rate", "199"]);

    let (idle, total) = idle_and_total(&profile, "sleeper");
    let share = percent(idle, total);
    assert!(total > 200, "sleeper sampled through its sleeps: {total}");
    assert!(
        (60.0..=90.0).contains(&share),
        "sleeper idle {share:.1}% of {total}"
    );

    let (idle, total) = idle_and_total(&profile, "spinner");
    assert!(total > 200);
    assert!(
        percent(idle, total) < 10.0,
        "spinner idle {idle} of {total}"
    );

    // The blocked thread waits in Lock.acquire, called on line 28: its stacks end there.
    let blocked = profile
        .threads
        .iter()
        .find(|t| t.name == "blocked")
        .unwrap();
    let (idle, total) = idle_and_total(&profile, "blocked");
    assert!(
        percent(idle, total) > 90.0,
        "blocked idle {idle} of {total}"
    );
    let waiting: u64 = blocked
        .stacks
        .iter()
        .filter(|(stack, _)| {
            let n = stack.len();
            n >= 2 && profile.frames.get(stack[n - 1]).is_idle() && {
                let caller = profile.frames.get(stack[n - 2]);
                caller.function == "blocked" && caller.line == 28
            }
        })
        .map(|(_, c)| c.get(0))
        .sum();
    assert!(
        percent(waiting, total) > 90.0,
        "waits at the acquire line: {waiting} of {total}"
    );

    // Wall samples add up to about wall time: each thread ran ~2 s at 199 Hz.
    let (_, sleeper_total) = idle_and_total(&profile, "sleeper");
    assert!(
        (250..=560).contains(&sleeper_total),
        "{sleeper_total} samples for ~2 s"
    );

    // The per-thread table.
    assert!(ran.stderr.contains("heaviest function"), "{}", ran.stderr);
    let line = ran
        .stderr
        .lines()
        .find(|l| l.starts_with("blocked (tid"))
        .unwrap();
    assert!(
        line.contains("blocked (states.py:28)") || line.contains("states.py:28"),
        "{line}"
    );
}

#[test]
fn cpu_mode_leaves_sleeping_stacks_out() {
    let dir = TempDir::new("cpuidle");
    let (_, profile) = record(&dir, "cpu.folded", &["--rate", "199"]);
    for thread in ["sleeper", "spinner"] {
        let (idle, _) = idle_and_total(&profile, thread);
        assert_eq!(idle, 0, "{thread}: no idle stacks in CPU mode");
    }
    let blocked = thread_samples(&profile, "blocked");
    assert!(
        blocked <= 2,
        "a thread blocked all along uses no CPU: {blocked}"
    );
    let (_, spinner) = idle_and_total(&profile, "spinner");
    // The spinner runs on a wall-clock deadline, so its CPU (and samples) shrink when the
    // machine is loaded: at 199 Hz an idle machine gives ~400, a load of 13 on two cores
    // gave 86. The check is that it is sampled at all, far above the blocked thread's 2.
    assert!(spinner > 20, "the spinner is sampled: {spinner}");
}

#[test]
fn idle_flags_override_the_mode_default() {
    let dir = TempDir::new("idleflags");
    let (_, wall_no_idle) = record(&dir, "a.folded", &["--mode", "wall", "--no-idle"]);
    let (idle, total) = idle_and_total(&wall_no_idle, "sleeper");
    assert_eq!(idle, 0);
    assert!(total > 0);
    // Blocked all along but for its first and last moments (starting, and releasing the
    // lock at the end), which a loaded machine stretches enough for a sample or two.
    let blocked = thread_samples(&wall_no_idle, "blocked");
    assert!(
        blocked <= 2,
        "a blocked thread has no running samples: {blocked}"
    );
}

#[test]
fn pprof_labels_idle_samples() {
    let dir = TempDir::new("walllabels");
    let out = dir.join("wall.pb.gz");
    run(rpprof()
        .args(["record", "--mode", "wall", "-o"])
        .arg(&out)
        .arg(script("states.py"))
        .arg("1"))
    .expect_code(0);
    let profile = rpprof::input::read_profile(&out).unwrap();
    let (idle, _) = idle_and_total(&profile, "blocked");
    assert!(idle > 0, "thread_state=idle comes back as the [idle] frame");
    assert!(
        profile.threads.iter().all(|t| t.cpu_time_ns.is_some()),
        "CPU time per thread"
    );
    let text = run(rpprof().arg("report").arg(&out)).stdout;
    assert!(text.contains("running"), "{text}");
    assert!(text.contains("blocked (tid"), "{text}");
}
