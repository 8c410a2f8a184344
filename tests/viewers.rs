//! Every output as its real consumer shows it: `go tool pprof` (top, traces, list), the
//! Firefox Profiler's own loader and speedscope's own importer (both from npm, run on node
//! by `tests/consumers/*.mjs`), on one recording of `tests/scripts/viewers.py`: module-level
//! code with a lambda and a generator expression, a thread pool and four busy threads.
//!
//! `.ci/run` installs the tools; where one is missing its test says so and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{go_pprof, have_go, root, rpprof, script, TempDir};
use serde_json::Value;

/// One recording of viewers.py in `mode`, in every format.
struct Recording {
    dir: TempDir,
}

impl Recording {
    fn new(mode: &str) -> Recording {
        let dir = TempDir::new(&format!("viewers-{mode}"));
        let mut command = rpprof();
        command.args(["record", "--mode", mode]);
        for name in ["p.pb.gz", "p.speedscope.json", "p.gecko.json"] {
            command.arg("-o").arg(dir.join(name));
        }
        command.arg(script("viewers.py")).arg("1.5");
        common::run(&mut command).expect_code(0);
        Recording { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Each thread's CPU time as `record` measured it (its clock), in milliseconds.
    fn measured_cpu_ms(&self, thread: &str) -> f64 {
        let bytes = std::fs::read(self.file("p.pb.gz")).unwrap();
        let profile = flamegraph::pprof::parse(&bytes).unwrap();
        let found = profile.threads.iter().find(|t| t.name == thread);
        found
            .and_then(|t| t.cpu_time_ns)
            .unwrap_or_else(|| panic!("no CPU for {thread}")) as f64
            / 1e6
    }
}

#[test]
fn go_tool_pprof_names_module_level_code_and_finds_the_program() {
    if !have_go() {
        eprintln!("skipped: `go` is not installed (.ci/run installs golang-go)");
        return;
    }
    let recording = Recording::new("cpu");
    let pprof = recording.file("p.pb.gz");
    let home = recording.dir.path();
    let (top, top_err) = go_pprof(home, &["-top"], &pprof);
    let (traces, _) = go_pprof(home, &["-traces"], &pprof);
    for (view, text) in [("top", &top), ("traces", &traces)] {
        assert!(!text.contains("<unknown>"), "{view}:\n{text}");
        for name in ["<module>", "<genexpr>", "<lambda>", "busy"] {
            assert!(text.contains(name), "{view} lacks {name}:\n{text}");
        }
    }
    assert!(
        !top_err.contains("Main binary filename not available"),
        "{top_err}"
    );
    assert!(top.contains("File: viewers.py"), "{top}");
    // -list finds the source by the file name and shows the busy line with its time.
    let (list, _) = go_pprof(home, &["-list", "^busy$"], &pprof);
    let hot = list
        .lines()
        .find(|line| line.contains("count += sum(range(1_000))"))
        .unwrap_or_else(|| panic!("no busy line:\n{list}"));
    assert!(hot.trim_start().ends_with("count += sum(range(1_000))"));
    assert!(
        !hot.trim_start().starts_with('.'),
        "the line has time: {hot}"
    );
}

/// What a `tests/consumers` script printed for `file`, or `None` (with a line saying why)
/// where node or the consumer's package is missing.
fn consumer(script: &str, args: &[&str], file: &Path) -> Option<Value> {
    let ran = Command::new("node")
        .arg(root().join("tests/consumers").join(script))
        .args(args)
        .arg(file)
        .output();
    let ran = match ran {
        Ok(ran) => ran,
        Err(_) => {
            eprintln!("skipped: `node` is not installed");
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&ran.stderr);
    if ran.status.code() == Some(2) {
        eprintln!("skipped: {stderr} (.ci/run installs it)");
        return None;
    }
    assert!(
        ran.status.success(),
        "{script} failed: {}{stderr}",
        String::from_utf8_lossy(&ran.stdout)
    );
    Some(serde_json::from_slice(&ran.stdout).unwrap())
}

fn firefox_shows_threads_cpu_and_lines(mode: &str) {
    let recording = Recording::new(mode);
    let Some(loaded) = consumer("firefox_load.mjs", &[], &recording.file("p.gecko.json")) else {
        return;
    };
    let messages = loaded["messages"].to_string();
    assert!(
        !messages.contains("warn") && !messages.contains("error"),
        "{messages}"
    );
    let threads = loaded["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 10, "main, 4 busy, 5 pool workers");
    let thread = |name: &str| {
        threads
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no thread {name}: {loaded}"))
    };
    // The main thread's track is named after it, the busy threads are tracks under it, and
    // the pool is a track group of its own.
    let tracks = loaded["tracks"].as_array().unwrap();
    assert_eq!(tracks[0]["name"], "MainThread", "{tracks:?}");
    let local: Vec<&str> = tracks[0]["local"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(local, ["busy-1", "busy-2", "busy-3", "busy-4"]);
    assert!(tracks
        .iter()
        .any(|t| t["name"] == "ThreadPoolExecutor-N_N ×5"
            && t["local"].as_array().unwrap().len() == 5));
    // CPU per thread as the profiler computes it, against what record measured.
    for name in ["MainThread", "busy-1", "busy-2", "busy-3", "busy-4"] {
        let shown = thread(name)["cpuMsAllSamples"].as_f64().unwrap();
        let measured = recording.measured_cpu_ms(name);
        assert!(
            (shown - measured).abs() <= 0.1 * measured + 15.0,
            "{mode} {name}: the profiler shows {shown:.1} ms of CPU, record measured {measured:.1}"
        );
    }
    // The activity graphs of the four busy threads add up to no more than the machine's
    // cores (in wall mode each running sample's wall time was once taken as its CPU).
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    let busy_percent: f64 = (1..=4)
        .map(|i| {
            thread(&format!("busy-{i}"))["cpuPercentMean"]
                .as_f64()
                .unwrap()
        })
        .sum();
    assert!(
        busy_percent <= 110.0 * cores,
        "{mode}: four busy threads at {busy_percent:.0}% CPU on {cores} cores"
    );
    // Every function of a busy thread has its file and first line, every frame its line,
    // but rpprof's markers (`[idle] lock.acquire`: a busy thread may wait a moment, as at
    // its start on a loaded machine), which have neither.
    let busy = thread("busy-1");
    let without_file: Vec<&str> = busy["funcs"]["namesWithoutFile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(without_file.iter().all(|n| n.starts_with('[')), "{busy}");
    let markers = without_file.len() as u64;
    let count = |v: &serde_json::Value| v.as_u64().unwrap();
    let funcs = count(&busy["funcs"]["total"]);
    assert_eq!(
        count(&busy["funcs"]["withFileName"]) + markers,
        funcs,
        "{busy}"
    );
    assert_eq!(
        count(&busy["funcs"]["withLineNumber"]) + markers,
        funcs,
        "{busy}"
    );
    assert!(
        count(&busy["frames"]["withLine"]) + markers >= count(&busy["frames"]["total"]),
        "{busy}"
    );
    // Samples weigh the time they stand for: whole-period weights came out 0 and 2 in turn
    // for samples a little late and early (44% zeros on a busy thread). A few wall samples
    // still weigh 0 ns: the ticker and the handler race on the thread's last sample time.
    for thread in threads {
        let zero = thread["zeroWeightSamples"].as_f64().unwrap();
        let all = thread["samples"].as_f64().unwrap();
        assert!(zero <= 0.05 * all + 1.0, "{mode}: {thread}");
    }
}

#[test]
fn the_firefox_profilers_loader_shows_threads_cpu_and_lines_in_cpu_mode() {
    firefox_shows_threads_cpu_and_lines("cpu");
}

#[test]
fn the_firefox_profilers_loader_shows_threads_cpu_and_lines_in_wall_mode() {
    firefox_shows_threads_cpu_and_lines("wall");
}

#[test]
fn speedscope_shows_the_main_thread_in_time_order_beside_a_grouped_pool() {
    let recording = Recording::new("cpu");
    let Some(loaded) = consumer(
        "speedscope_import.mjs",
        &["--stacks"],
        &recording.file("p.speedscope.json"),
    ) else {
        return;
    };
    let profiles = loaded["profiles"].as_array().unwrap();
    let pool = profiles
        .iter()
        .find(|p| {
            p["name"]
                .as_str()
                .unwrap()
                .starts_with("ThreadPoolExecutor-N_N ×5")
        })
        .expect("the pool is one profile");
    assert!(pool["name"]
        .as_str()
        .unwrap()
        .ends_with("(totals per stack, not in time order)"));
    let main = profiles
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with("MainThread (tid "))
        .expect("a main thread profile");
    // The stacks in speedscope's Time Order: imports, then the generator expression's
    // loop, then the lambda's.
    let stacks: Vec<&str> = main["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap())
        .collect();
    let positions = |leaf: &str| -> Vec<usize> {
        (0..stacks.len())
            .filter(|&i| stacks[i].ends_with(&format!(";{leaf}")))
            .collect()
    };
    let (genexpr, lambda) = (positions("<genexpr>"), positions("<lambda>"));
    assert!(!genexpr.is_empty() && !lambda.is_empty(), "{stacks:#?}");
    assert!(genexpr.last() < lambda.first(), "{stacks:#?}");
    let first_import = stacks.iter().position(|s| s.contains("_find_and_load"));
    assert!(first_import < genexpr.first().copied(), "{stacks:#?}");
    // One frame per function: `busy` is one row in the sandwich view, not one per line.
    let file: Value =
        serde_json::from_slice(&std::fs::read(recording.file("p.speedscope.json")).unwrap())
            .unwrap();
    let frames = file["shared"]["frames"].as_array().unwrap();
    let busy: Vec<&Value> = frames.iter().filter(|f| f["name"] == "busy").collect();
    assert_eq!(busy.len(), 1, "{busy:?}");
    assert_eq!(busy[0]["line"], 38, "where busy starts");
}
