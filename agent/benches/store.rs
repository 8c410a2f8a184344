//! What one window write costs the store as it fills up: the time of
//! `Store::write_encoded` with 10, 10k and 60k windows already stored (60k is a week of
//! 10 s windows). The stores are filled by writing window files straight into their
//! directories and opening them (the listing is the store's truth), then each write adds
//! one window and the size cap prunes the oldest, as in a store at its steady state.
//! Sizes take turns write by write, so a noisy moment on a shared machine hits them all
//! alike; the figures are medians. Prints one JSON object; `benches/run_benchmarks.py`
//! turns it into BENCHMARKS.md rows.
//!
//!     cargo bench --ignore-rust-version -p agent --bench store
//!
//! `RPPROF_STORE_BENCH_ROUNDS` sets the writes timed per size (default 200).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agent::Store;
use flamegraph::{folded, ProfileMeta};

/// Windows already stored, per measured store.
const SIZES: [usize; 3] = [10, 10_000, 60_000];
/// Length of every window.
const WINDOW_MS: u64 = 10_000;
/// Where the first pre-filled window starts (Unix milliseconds).
const FIRST_MS: u64 = 1_700_000_000_000;

/// A store being measured and the start of the next window it receives.
struct Measured {
    windows: usize,
    dir: PathBuf,
    store: Store,
    next_from_ms: u64,
    write_us: Vec<f64>,
    open_ms: f64,
}

fn window_meta(from_ms: u64) -> ProfileMeta {
    ProfileMeta {
        rate_hz: 99,
        start_unix_ns: from_ms * 1_000_000,
        duration_ns: WINDOW_MS * 1_000_000,
        ..ProfileMeta::default()
    }
}

/// A small but real window: a few threads and stacks, gzipped pprof.
fn encoded_window(store: &Store) -> Vec<u8> {
    let mut folded_text = String::new();
    for thread in 1..=4 {
        for leaf in 0..8 {
            folded_text.push_str(&format!(
                "worker-{thread} (tid {thread});main (app.py:10);handle (app.py:{line});leaf_{leaf} (lib.py:{leaf}) {count}\n",
                line = 20 + leaf,
                count = 3 + leaf * thread,
            ));
        }
    }
    let profile = folded::parse(folded_text.as_bytes(), window_meta(FIRST_MS)).expect("folded");
    store.encode(&profile).expect("encode")
}

/// Fills `dir` with `windows` consecutive window files and opens it as a store capped at
/// exactly that many windows, so each further write prunes one.
fn filled_store(dir: &Path, windows: usize, encoded: &[u8]) -> Measured {
    let _ = std::fs::remove_dir_all(dir);
    let windows_dir = dir.join("windows");
    std::fs::create_dir_all(&windows_dir).expect("create the store directory");
    for i in 0..windows as u64 {
        let from_ms = FIRST_MS + i * WINDOW_MS;
        let name = format!("{from_ms}-{}.pb.gz", from_ms + WINDOW_MS);
        std::fs::write(windows_dir.join(name), encoded).expect("write a window file");
    }
    let max_bytes = (windows * encoded.len()) as u64;
    let started = Instant::now();
    let store = Store::open(dir, Duration::from_secs(365 * 86_400), max_bytes).expect("open");
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(store.len(), windows, "the listing is the store");
    Measured {
        windows,
        dir: dir.to_path_buf(),
        store,
        next_from_ms: FIRST_MS + windows as u64 * WINDOW_MS,
        write_us: Vec::new(),
        open_ms,
    }
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let at = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[at]
}

fn main() {
    let rounds: usize = std::env::var("RPPROF_STORE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let root = std::env::temp_dir().join(format!("rpprof-store-bench-{}", std::process::id()));
    let scratch = Store::open(&root.join("scratch"), Duration::from_secs(60), u64::MAX)
        .expect("open a scratch store");
    let encoded = encoded_window(&scratch);
    drop(scratch);

    let mut measured: Vec<Measured> = SIZES
        .iter()
        .map(|&windows| filled_store(&root.join(format!("n{windows}")), windows, &encoded))
        .collect();
    for _ in 0..rounds {
        for m in measured.iter_mut() {
            let meta = window_meta(m.next_from_ms);
            let now_ms = m.next_from_ms + WINDOW_MS;
            let started = Instant::now();
            m.store
                .write_encoded(&encoded, &meta, now_ms)
                .expect("write a window");
            m.write_us.push(started.elapsed().as_secs_f64() * 1e6);
            m.next_from_ms += WINDOW_MS;
            assert_eq!(
                m.store.len(),
                m.windows,
                "the size cap prunes one per write"
            );
        }
    }

    let mut fields = vec![
        format!("\"rounds\": {rounds}"),
        format!("\"window_bytes\": {}", encoded.len()),
    ];
    for m in measured.iter_mut() {
        m.write_us.sort_by(f64::total_cmp);
        let n = m.windows;
        fields.push(format!(
            "\"write_median_us_{n}\": {:.1}",
            percentile(&m.write_us, 0.5)
        ));
        fields.push(format!(
            "\"write_p90_us_{n}\": {:.1}",
            percentile(&m.write_us, 0.9)
        ));
        fields.push(format!(
            "\"write_max_us_{n}\": {:.1}",
            percentile(&m.write_us, 1.0)
        ));
        fields.push(format!("\"open_ms_{n}\": {:.1}", m.open_ms));
    }
    for m in &measured {
        let _ = std::fs::remove_dir_all(&m.dir);
    }
    let _ = std::fs::remove_dir_all(&root);
    println!("{{{}}}", fields.join(", "));
}
