//! asyncio tasks, through the binary: samples taken in a task carry its name (pprof's
//! `task` label; a `task NAME` frame with `--async`), task shares follow the work in CPU and
//! wall mode, and in wall mode `--async` also samples waiting tasks with the coroutine chain
//! each one is suspended in, in every event loop's thread.

mod common;

use std::io::Read;

use common::{percent, read_folded, rpprof, run, script, TempDir};
use flamegraph::pprof::{Message, Proto};
use flamegraph::Profile;

fn read_pprof(path: &std::path::Path) -> Profile {
    flamegraph::pprof::parse(&std::fs::read(path).unwrap()).expect("pprof parses")
}

/// The decoded protobuf of a gzipped pprof file.
fn read_proto(path: &std::path::Path) -> Proto {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    Proto::decode(bytes.as_slice()).expect("pprof decodes")
}

/// The task a stack was taken in (its `task NAME` root frame).
fn task_of<'a>(profile: &'a Profile, stack: &[u32]) -> Option<&'a str> {
    stack
        .first()
        .and_then(|&id| profile.frames.get(id).task_name())
}

/// True for a stack of a waiting task (ending in `[awaiting]`).
fn is_awaiting(profile: &Profile, stack: &[u32]) -> bool {
    stack
        .last()
        .is_some_and(|&id| profile.frames.get(id).is_awaiting())
}

/// Samples per task among the samples of running tasks (not waiting, not idle), over all
/// threads.
fn running_task_samples(profile: &Profile) -> Vec<(String, u64)> {
    let mut by_task: std::collections::BTreeMap<String, u64> = Default::default();
    for thread in &profile.threads {
        for (stack, values) in &thread.stacks {
            let leaf = profile.frames.get(*stack.last().unwrap());
            if leaf.is_idle() || leaf.is_awaiting() {
                continue;
            }
            if let Some(task) = task_of(profile, stack) {
                *by_task.entry(task.to_owned()).or_default() += values.get(0);
            }
        }
    }
    by_task.into_iter().collect()
}

/// Asserts that heavy, medium and light got 3:2:1 of the three tasks' samples, +-5 points.
fn assert_three_two_one(profile: &Profile, what: &str) {
    let samples = running_task_samples(profile);
    let of = |name: &str| {
        samples
            .iter()
            .find(|(task, _)| task == name)
            .map_or(0, |(_, n)| *n)
    };
    let total = of("heavy") + of("medium") + of("light");
    assert!(total > 200, "{what}: enough samples in tasks: {samples:?}");
    for (name, expected) in [
        ("heavy", 50.0),
        ("medium", 100.0 / 3.0),
        ("light", 100.0 / 6.0),
    ] {
        let share = percent(of(name), total);
        assert!(
            (share - expected).abs() <= 5.0,
            "{what}: task {name} has {share:.1}% of the tasks' samples, expected {expected:.1}% \
             (+-5): {samples:?}"
        );
    }
}

#[test]
fn task_shares_follow_the_work_in_cpu_mode_and_pprof_labels_them() {
    let dir = TempDir::new("async-cpu");
    let (pb, folded) = (dir.join("cpu.pb.gz"), dir.join("cpu.folded"));
    run(rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(&pb)
        .arg("-o")
        .arg(&folded)
        .arg(script("async_shares.py")))
    .expect_code(0);
    assert_three_two_one(&read_pprof(&pb), "cpu mode");

    // pprof has the task as a label, like the thread, and never as a location.
    let proto = read_proto(&pb);
    let text = |id: i64| proto.string_table[id as usize].as_str();
    let labelled: Vec<&str> = proto
        .sample
        .iter()
        .flat_map(|s| s.label.iter())
        .filter(|l| text(l.key) == "task")
        .map(|l| text(l.str))
        .collect();
    for name in ["heavy", "medium", "light"] {
        assert!(
            labelled.contains(&name),
            "task={name} label in {labelled:?}"
        );
    }
    assert!(proto
        .function
        .iter()
        .all(|f| !text(f.name).starts_with("task ")));

    // Without --async the other formats show no task frames.
    let plain = read_folded(&folded);
    assert!(plain
        .frames
        .iter()
        .all(|(_, frame)| frame.task_name().is_none()));

    // `report --async` draws them from the pprof file's labels.
    let from_report = dir.join("report.folded");
    run(rpprof()
        .arg("report")
        .arg(&pb)
        .arg("--async")
        .arg("-o")
        .arg(&from_report))
    .expect_code(0);
    assert_three_two_one(&read_folded(&from_report), "report --async");
}

#[test]
fn task_shares_follow_the_work_in_wall_mode() {
    let dir = TempDir::new("async-wall");
    let folded = dir.join("wall.folded");
    let ran = run(rpprof()
        .args(["record", "--mode", "wall", "--rate", "199", "--async", "-o"])
        .arg(&folded)
        .arg(script("async_shares.py")));
    ran.expect_code(0);
    let profile = read_folded(&folded);
    assert_three_two_one(&profile, "wall mode");
    // Between steps each task waits in asyncio.sleep(0), and is sampled there too.
    let thread = &profile.threads[0];
    for name in ["heavy", "medium", "light"] {
        assert!(
            thread.stacks.iter().any(|(stack, _)| {
                task_of(&profile, stack) == Some(name) && is_awaiting(&profile, stack)
            }),
            "waiting samples of {name}"
        );
    }
}

#[test]
fn waiting_tasks_show_the_chains_they_are_suspended_in() {
    let dir = TempDir::new("async-waits");
    let folded = dir.join("waits.folded");
    let pb = dir.join("waits.pb.gz");
    let ran = run(rpprof()
        .args(["record", "--mode", "wall", "--async", "-o"])
        .arg(&folded)
        .arg("-o")
        .arg(&pb)
        .arg(script("async_waits.py"))
        .arg("1.5"));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "done\n");
    let profile = read_folded(&folded);
    // Each waits 1.5 s: about 148 samples at 99 Hz.
    let expect = |thread: &str, task: &str, chain: &[&str]| {
        let t = profile
            .threads
            .iter()
            .find(|t| t.name == thread)
            .unwrap_or_else(|| panic!("thread {thread}"));
        let samples: u64 = t
            .stacks
            .iter()
            .filter(|(stack, _)| {
                task_of(&profile, stack) == Some(task) && is_awaiting(&profile, stack) && {
                    let functions: Vec<&str> = stack[1..stack.len() - 1]
                        .iter()
                        .map(|&id| profile.frames.get(id).function.as_str())
                        .collect();
                    functions == chain
                }
            })
            .map(|(_, v)| v.get(0))
            .sum();
        assert!(
            (100..=200).contains(&samples),
            "{thread}: task {task} waiting in {chain:?}: {samples} samples\n{}",
            flamegraph::folded::lines(&profile, 0).join("\n")
        );
    };
    expect("MainThread", "sleeper", &["napper", "sleep"]);
    expect("MainThread", "consumer", &["consumer", "Queue.get"]);
    expect("MainThread", "waiter", &["waiter", "Event.wait"]);
    // The task nobody named has asyncio's name for it: Task-1 is main(), Task-2 is the side
    // thread's, so this one is Task-3 (numbers count up over the whole process).
    let unnamed: Vec<&str> = profile
        .frames
        .iter()
        .filter_map(|(_, f)| f.task_name())
        .filter(|name| name.starts_with("Task-"))
        .collect();
    assert_eq!(unnamed.len(), 3, "{unnamed:?}");
    let nameless = profile
        .threads
        .iter()
        .flat_map(|t| t.stacks.iter())
        .find(|(stack, _)| {
            stack
                .iter()
                .any(|&id| profile.frames.get(id).function == "nameless")
        })
        .map(|(stack, _)| task_of(&profile, stack).unwrap_or_default().to_owned())
        .expect("the unnamed task sampled");
    assert!(nameless.starts_with("Task-"), "{nameless}");
    // The second thread's loop and its task.
    expect("side-loop", "pinger", &["pinger", "sleep"]);

    // The waits are not the threads' own time: each thread has about 1.5 s of samples of
    // its own (at 99 Hz), whatever its tasks do.
    for summary in flamegraph::summary::summaries(&profile) {
        assert!(
            summary.samples < 250,
            "{}: {} samples of its own",
            summary.thread,
            summary.samples
        );
    }
    // pprof says which samples are waiting tasks.
    let proto = read_proto(&pb);
    let text = |id: i64| proto.string_table[id as usize].as_str();
    assert!(proto.sample.iter().any(|s| s
        .label
        .iter()
        .any(|l| text(l.key) == "thread_state" && text(l.str) == "awaiting")));
}

#[test]
fn cpu_mode_with_async_names_running_tasks_only() {
    let dir = TempDir::new("async-cpu-frames");
    let folded = dir.join("cpu.folded");
    run(rpprof()
        .args(["record", "--async", "-o"])
        .arg(&folded)
        .arg(script("async_waits.py"))
        .arg("0.3"))
    .expect_code(0);
    let profile = read_folded(&folded);
    assert!(profile
        .threads
        .iter()
        .flat_map(|t| t.stacks.iter())
        .all(|(stack, _)| !is_awaiting(&profile, stack)));
}

#[test]
fn the_in_script_api_takes_async() {
    let dir = TempDir::new("async-api");
    let out = dir.join("api.folded");
    let code = format!(
        r#"
import asyncio, rpprof

def burn():
    return sum(i * i for i in range(400_000))

async def busy():
    for _ in range(10):
        burn()
        await asyncio.sleep(0)

async def idle():
    await asyncio.sleep(0.5)

async def main():
    await asyncio.gather(
        asyncio.create_task(busy(), name="busy"),
        asyncio.create_task(idle(), name="idle"),
    )

rpprof.start(mode="wall", async_=True)
asyncio.run(main())
rpprof.stop()
rpprof.write({out:?})
"#,
        out = out.to_str().unwrap()
    );
    run(rpprof().args(["run", "-c", &code])).expect_code(0);
    let profile = read_folded(&out);
    let samples = running_task_samples(&profile);
    assert!(
        samples.iter().any(|(task, n)| task == "busy" && *n > 0),
        "{samples:?}"
    );
    assert!(
        profile
            .threads
            .iter()
            .flat_map(|t| t.stacks.iter())
            .any(|(stack, _)| task_of(&profile, stack) == Some("idle")
                && is_awaiting(&profile, stack))
    );
}

#[test]
fn the_agent_draws_tasks_with_async() {
    let dir = TempDir::new("async-agent");
    let (mut child, address, _stderr) = common::start_agent(
        &dir.join("store"),
        &["--mode", "wall", "--async"],
        &script("async_waits.py"),
        &["4"],
        std::process::Stdio::null(),
    );
    let (status, _, body) = common::http_get(
        &address,
        "/debug/pprof/profile?seconds=2&format=folded",
        &[],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.lines().any(|l| l.contains(";task sleeper;napper (")
            && l.contains(";sleep (asyncio.tasks")
            && l.contains("[awaiting]")),
        "{text}"
    );
}
