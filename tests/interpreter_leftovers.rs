//! What RustPython 0.6.0 keeps for ever, which rpprof works around
//! (`src/python/leftovers.rs`, and `_lru_caches_that_do_not_grow` in
//! `src/python/compat.py`): measured on the structures themselves, where an RSS bound would
//! be too coarse.

mod common;

use common::{rpprof, run};

fn figure(stdout: &str, key: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("the script prints {key}: {stdout}"))
}

#[test]
fn threading_tables_and_lru_caches_do_not_grow() {
    let ran = run(rpprof()
        .arg("run")
        .arg(common::root().join("tests/scripts/leftovers.py")));
    ran.expect_code(0);
    // Without the workaround: 192 KB after 3,000 threads (64 bytes a thread, for ever).
    let tables = figure(&ran.stdout, "active_limbo_bytes");
    assert!(
        tables < 32 * 1024,
        "threading._active and _limbo: {tables} bytes"
    );
    // Without it: 6.4 MB for 200,000 hits (32 bytes a hit, for ever).
    let lru = figure(&ran.stdout, "lru_growth_kb");
    assert!(
        lru < 4 * 1024,
        "an lru_cache grew RSS by {lru} KiB over 200,000 hits"
    );
}
