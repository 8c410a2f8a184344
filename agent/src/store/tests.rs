//! Tests of the store as a whole: ordering, pruning, ranges, reopening.

use super::*;
use flamegraph::{folded, ProfileMeta};

fn window(start_s: u64, samples: u64) -> Profile {
    folded::parse(
        format!("main (tid 1);work (a.py:3) {samples}\n").as_bytes(),
        ProfileMeta {
            rate_hz: 99,
            start_unix_ns: start_s * 1_000_000_000,
            duration_ns: 10_000_000_000,
            ..ProfileMeta::default()
        },
    )
    .unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rpprof-store-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn windows_are_written_found_by_range_and_read_back() {
    let dir = temp_dir("range");
    let store = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
    for (i, start) in [1000u64, 1010, 1020].iter().enumerate() {
        store
            .write(&window(*start, i as u64 + 1), 1_030_000)
            .unwrap();
    }
    assert_eq!(store.len(), 3);
    let found = store.range(1_011_000, 1_015_000);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].from_ms, 1_010_000);
    assert_eq!(store.read(&found[0]).unwrap().total().get(0), 2);
    let index = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    assert!(index.contains("windows/1010000-1020000.pb.gz"), "{index}");
    // A fresh open finds the same windows from the listing; temp files are cleaned.
    std::fs::write(dir.join("windows/.rpprof-1-1.tmp"), "partial").unwrap();
    let again = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
    assert_eq!(again.len(), 3);
    assert!(!dir.join("windows/.rpprof-1-1.tmp").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pruning_by_age_and_size() {
    let dir = temp_dir("prune");
    let store = Store::open(&dir, Duration::from_secs(25), u64::MAX).unwrap();
    for start in [1000u64, 1010, 1020, 1030] {
        store.write(&window(start, 5), (start + 10) * 1000).unwrap();
    }
    // At 1040 s, keeping 25 s: the window that ended at 1010 s is gone.
    assert_eq!(store.range(0, u64::MAX).first().unwrap().from_ms, 1_010_000);
    let newest_two: u64 = store
        .range(0, u64::MAX)
        .iter()
        .rev()
        .take(2)
        .map(|w| w.bytes)
        .sum();
    let capped = Store::open(&dir, Duration::from_secs(86_400), newest_two).unwrap();
    capped.prune(1_040_000);
    assert_eq!(capped.len(), 2, "the size cap keeps the newest two");
    assert_eq!(capped.range(0, u64::MAX)[0].from_ms, 1_020_000);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A window of `duration_s` seconds.
fn long_window(start_s: u64, duration_s: u64, samples: u64) -> Profile {
    let mut profile = window(start_s, samples);
    profile.meta.duration_ns = duration_s * 1_000_000_000;
    profile
}

/// The window files in the directory with their sizes, as the index names them.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir.join("windows"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".pb.gz"))
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (format!("windows/{name}"), entry.metadata().unwrap().len())
        })
        .collect();
    files.sort();
    files
}

/// The store's view, its running total, its index and the directory all agree.
fn assert_consistent(store: &Store, dir: &Path) {
    let windows = store.range(0, u64::MAX);
    assert!(
        windows
            .windows(2)
            .all(|pair| (pair[0].from_ms, pair[0].until_ms) < (pair[1].from_ms, pair[1].until_ms)),
        "in time order: {windows:?}"
    );
    let recomputed: u64 = windows.iter().map(|w| w.bytes).sum();
    assert_eq!(store.bytes(), recomputed, "the running total");
    assert_eq!(store.len(), windows.len());
    let mut seen: Vec<(String, u64)> = windows
        .iter()
        .map(|w| (format!("windows/{}", w.file_name()), w.bytes))
        .collect();
    seen.sort();
    let on_disk = listing(dir);
    assert_eq!(seen, on_disk, "the store's view is the listing");
    assert_eq!(
        index::replay(&dir.join(index::INDEX_FILE)),
        on_disk,
        "the index replays to the listing"
    );
}

fn index_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(index::INDEX_FILE))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn windows_are_kept_in_time_order_whatever_order_they_are_written_in() {
    let dir = temp_dir("order");
    let store = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
    for (start, samples) in [(1020, 1), (1000, 2), (1030, 3), (1010, 4)] {
        store.write(&window(start, samples), 1_040_000).unwrap();
        assert_consistent(&store, &dir);
    }
    // The same range again replaces the window, its size and its index entry.
    store.write(&window(1010, 12345), 1_040_000).unwrap();
    assert_consistent(&store, &dir);
    let windows = store.range(0, u64::MAX);
    let starts: Vec<u64> = windows.iter().map(|w| w.from_ms / 1000).collect();
    assert_eq!(starts, vec![1000, 1010, 1020, 1030]);
    assert_eq!(store.read(&windows[1]).unwrap().total().get(0), 12345);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pruning_by_age_and_size_keeps_the_running_total_right() {
    let dir = temp_dir("totals");
    let store = Store::open(&dir, Duration::from_secs(45), u64::MAX).unwrap();
    store.write(&window(0, 1), 10_000).unwrap();
    let one_window = store.bytes();
    drop(store);
    // About three windows fit under the cap, five within the retention: the cap prunes.
    let max_bytes = one_window * 3 + one_window / 2;
    let store = Store::open(&dir, Duration::from_secs(45), max_bytes).unwrap();
    for i in 1..60u64 {
        // Sample counts of 1 to 6 digits make windows of different sizes.
        let samples = 10u64.pow((i % 6) as u32) + i;
        store
            .write(&window(i * 10, samples), i * 10_000 + 10_000)
            .unwrap();
        assert_consistent(&store, &dir);
        assert!(store.bytes() <= max_bytes, "under the cap");
        assert!(store.len() >= 2, "the cap leaves a few windows");
    }
    // Much later: age prunes everything older than 45 s.
    store.write(&window(5000, 1), 5_010_000).unwrap();
    assert_consistent(&store, &dir);
    assert_eq!(store.len(), 1);
    store.prune(6_000_000);
    assert_consistent(&store, &dir);
    assert!(store.is_empty());
    assert_eq!(store.bytes(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn range_queries_find_what_a_scan_finds() {
    let dir = temp_dir("queries");
    let store = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
    for i in 0..20 {
        store.write(&window(1000 + i * 10, 1), 2_000_000).unwrap();
    }
    // A late, long window overlapping many others.
    store.write(&long_window(1045, 100, 2), 2_000_000).unwrap();
    let all = store.range(0, u64::MAX);
    assert_eq!(all.len(), 21);
    for from_s in (990..1210).step_by(7) {
        for length_s in [0, 1, 5, 10, 30, 300] {
            let (from_ms, until_ms) = (from_s * 1000, (from_s + length_s) * 1000);
            let scanned: Vec<StoredWindow> = all
                .iter()
                .filter(|w| w.until_ms > from_ms && w.from_ms < until_ms)
                .cloned()
                .collect();
            assert_eq!(
                store.range(from_ms, until_ms),
                scanned,
                "{from_s} + {length_s}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_index_is_appended_to_compacted_when_mostly_dead_and_rewritten_on_reopen() {
    let dir = temp_dir("garbage");
    let store = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
    store.write(&window(0, 7), 10_000).unwrap();
    let one_window = store.bytes();
    drop(store);
    let store = Store::open(&dir, Duration::from_secs(86_400), one_window * 4).unwrap();
    assert_eq!(index_lines(&dir).len(), 1, "rewritten on open");
    let mut rewrites = 0;
    let mut previous_lines = 1;
    for i in 1..400u64 {
        store
            .write(&window(i * 10, 7), i * 10_000 + 10_000)
            .unwrap();
        let lines = index_lines(&dir).len();
        if lines < previous_lines {
            rewrites += 1;
        }
        previous_lines = lines;
        // Live lines plus at most the dead-line allowance plus one write's lines.
        assert!(
            lines <= store.len() + 256 + 3,
            "{lines} lines for {}",
            store.len()
        );
    }
    assert!(rewrites >= 2, "the index was compacted {rewrites} times");
    assert_consistent(&store, &dir);
    assert!(
        index_lines(&dir)
            .iter()
            .any(|l| l.contains(r#""op":"remove""#)),
        "pruned windows are logged as removed"
    );

    // Garbage at the end of the log (a crash mid-append), and the directory changed behind
    // the store's back: the reopened store follows the listing and rewrites the index.
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(index::INDEX_FILE))
        .unwrap();
    std::io::Write::write_all(&mut log, br#"{"op":"add","file":"windows/1-2"#).unwrap();
    let stored = store.range(0, u64::MAX);
    assert!(stored.len() >= 3, "about four windows fit: {stored:?}");
    std::fs::remove_file(dir.join("windows").join(stored[0].file_name())).unwrap();
    store.reopen().unwrap();
    assert_eq!(store.len(), stored.len() - 1);
    assert_consistent(&store, &dir);
    let lines = index_lines(&dir);
    assert_eq!(lines.len(), stored.len() - 1);
    for line in &lines {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["op"], "add", "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_store_with_the_old_index_json_still_opens() {
    let dir = temp_dir("old-index");
    let store = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
    for start in [1000, 1010, 1020] {
        store.write(&window(start, 3), 1_030_000).unwrap();
    }
    drop(store);
    // As an earlier version left it: a whole-array index.json (here stale: one entry is
    // missing, one names a file long gone) and no index.jsonl.
    std::fs::remove_file(dir.join(index::INDEX_FILE)).unwrap();
    let old_index = serde_json::json!([
        {"file": "windows/900000-910000.pb.gz", "from_ms": 900000, "until_ms": 910000, "bytes": 10},
        {"file": "windows/1000000-1010000.pb.gz", "from_ms": 1000000, "until_ms": 1010000, "bytes": 300},
        {"file": "windows/1010000-1020000.pb.gz", "from_ms": 1010000, "until_ms": 1020000, "bytes": 300},
    ]);
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_string_pretty(&old_index).unwrap(),
    )
    .unwrap();
    let store = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
    assert_eq!(store.len(), 3, "the listing is the truth");
    assert_consistent(&store, &dir);
    assert!(!dir.join("index.json").exists(), "the stale index is gone");
    let found = store.range(1_021_000, 1_022_000);
    assert_eq!(store.read(&found[0]).unwrap().total().get(0), 3);
    store.write(&window(1030, 4), 1_040_000).unwrap();
    assert_consistent(&store, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
}
