//! `rpprof agent --alloc` through the binary: the heap endpoints answer with what a service
//! keeps in use, `/metrics` reports allocated and in-use bytes, and stored windows carry
//! the allocation kinds with in-use values as a snapshot (not added up over the window).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Duration;

use common::{http_get, script, TempDir};
use flamegraph::{Profile, ValueKind};

const MIB: f64 = 1024.0 * 1024.0;

/// `kind` in stacks holding `function`, over all threads.
fn value_in(profile: &Profile, kind: &ValueKind, function: &str) -> f64 {
    let index = profile
        .meta
        .kind_index(&kind.name)
        .expect("the kind is there");
    profile
        .threads
        .iter()
        .flat_map(|t| t.stacks.iter())
        .filter(|(stack, _)| {
            stack
                .iter()
                .any(|&id| profile.frames.get(id).function == function)
        })
        .map(|(_, values)| values.get(index) as f64)
        .sum()
}

/// The one window the agent stored in `dir/store`.
fn only_window(dir: &TempDir) -> Profile {
    let windows: Vec<_> = std::fs::read_dir(dir.join("store/windows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(windows.len(), 1, "{windows:?}");
    flamegraph::pprof::parse(&std::fs::read(&windows[0]).unwrap()).unwrap()
}

/// Starts the agent on `heap_service.py SECONDS`; returns it, its address and its stderr.
fn start(
    dir: &TempDir,
    extra: &[&str],
    seconds: &str,
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStderr>,
) {
    common::start_agent(
        &dir.join("store"),
        extra,
        &script("heap_service.py"),
        &[seconds],
        Stdio::piped(),
    )
}

#[test]
fn heap_endpoints_metrics_and_windows_show_what_is_in_use() {
    let dir = TempDir::new("agent-alloc");
    let (mut child, address, mut stderr) =
        start(&dir, &["--alloc-interval", "32K", "--window", "1m"], "4");
    // Once the cache is full, a whole one-second slice of it (a loaded machine may take
    // longer than usual to get there).
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "cache full");
    std::thread::sleep(Duration::from_millis(1500));

    let (status, head, body) = http_get(&address, "/debug/pprof/heap", &[]);
    assert_eq!(status, 200, "{head}");
    let heap = flamegraph::pprof::parse(&body).unwrap();
    let in_use = value_in(&heap, &ValueKind::INUSE_SPACE, "keep_cache");
    assert!(
        (in_use - 16.0 * MIB).abs() < 2.5 * MIB,
        "the cache keeps 16 MiB: {:.1} MiB",
        in_use / MIB
    );
    let allocated = value_in(&heap, &ValueKind::ALLOC_SPACE, "keep_cache");
    assert!(allocated > in_use, "it allocated more than it keeps");

    let (status, _, body) = http_get(&address, "/debug/pprof/allocs?format=folded", &[]);
    assert_eq!(status, 200);
    let folded = String::from_utf8(body).unwrap();
    assert!(folded.contains("keep_cache ("), "{folded}");

    let (status, _, body) = http_get(&address, "/metrics", &[]);
    assert_eq!(status, 200);
    let metrics = String::from_utf8(body).unwrap();
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("rpprof_{name} ")))
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
            .parse()
            .unwrap()
    };
    assert!(metric("allocated_bytes_total") > 16.0 * MIB);
    assert!(
        (8.0 * MIB..40.0 * MIB).contains(&metric("in_use_bytes")),
        "{metrics}"
    );
    let (status, _, _) = http_get(&address, "/debug/pprof/heap?seconds=5", &[]);
    assert_eq!(status, 400, "unknown parameters are refused");

    // The program ends; the window (several slices) holds the in-use values of its end.
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    let window = only_window(&dir);
    assert!(window.meta.duration_ns > 3_000_000_000, "several slices");
    let in_use = value_in(&window, &ValueKind::INUSE_SPACE, "keep_cache");
    assert!(
        in_use < 20.0 * MIB,
        "in use is a snapshot, not a sum of slices: {:.1} MiB",
        in_use / MIB
    );
}

#[test]
fn without_alloc_the_heap_endpoint_says_how_to_get_it() {
    let dir = TempDir::new("agent-noalloc");
    let (mut child, address, _stderr) = start(&dir, &[], "1.5");
    let (status, _, body) = http_get(&address, "/debug/pprof/heap", &[]);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("--alloc"));
    let (_, _, body) = http_get(&address, "/metrics", &[]);
    let metrics = String::from_utf8_lossy(&body);
    for name in ["rpprof_in_use_bytes", "rpprof_allocated_bytes_total"] {
        assert!(!metrics.contains(&format!("\n{name} ")), "{metrics}");
    }
    assert!(child.wait().unwrap().success());
}

/// A thread per request for an hour is as many threads as requests: a window, a pull and
/// the heap endpoints' profile since the start keep at most `MAX_THREADS_APART` (1,000)
/// threads apart and add the ended ones into their group (they kept every one, for as long
/// as the agent ran).
#[test]
fn a_thread_per_request_keeps_a_bounded_number_of_threads_in_a_window() {
    let dir = TempDir::new("agent-request-threads");
    // 2,500 threads at up to 250 a second: each one-second slice holds a few hundred threads, so
    // the window (one for the whole run) passes 1,000 several times. Each thread allocates
    // 8 KiB: with a sample every 4 KiB, nearly every one is in the profile.
    let (child, _address, mut stderr) = common::start_agent(
        &dir.join("store"),
        &["--alloc-interval", "4K", "--window", "1h"],
        &script("paced_request_threads.py"),
        &["250", "2500", "8"],
        Stdio::piped(),
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{rest}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let threads: usize = stdout
        .trim()
        .strip_prefix("threads ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the script says how many threads: {stdout}"));
    assert_eq!(threads, 2_500);
    let window = only_window(&dir);
    let apart = window.threads.iter().filter(|t| t.tid != 0).count();
    let ended: Vec<_> = window
        .threads
        .iter()
        .filter(|t| t.tid == 0 && t.name == "Thread-N (handle)")
        .collect();
    // At most 1,000 apart, plus the threads of one slice (a few hundred) until the next
    // slice folds them; without the bound, every thread (2,500).
    assert!(
        apart * 10 < threads * 6,
        "{apart} of {threads} threads kept apart: {:?}",
        window
            .threads
            .iter()
            .map(|t| t.label())
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(ended.len(), 1, "the ended request threads are one group");
    let allocated = window.meta.kind_index("alloc_space").unwrap();
    assert!(
        ended[0].total().get(allocated) > 0,
        "the group keeps the ended threads' allocations"
    );
}
