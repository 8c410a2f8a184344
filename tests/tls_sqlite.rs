//! `sqlite3` is built in: a multithreaded SQLite workload is recorded with its worker
//! threads' SQLite-calling functions in the profile.

mod common;

use common::{root, rpprof, run, TempDir};

#[test]
fn sqlite_threads_show_in_the_profile() {
    let dir = TempDir::new("sqlite");
    let folded = dir.join("db.folded");
    let ran = run(rpprof()
        .args(["record", "--function", "-o"])
        .arg(&folded)
        .arg(root().join("tests/scripts/sqlite_threads.py"))
        .arg(dir.join("items.db")));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "rows 20000\nthreads ok 4 items.db\n");

    // Folded lines: "thread;frame;frame... count", outermost frame first.
    let text = std::fs::read_to_string(&folded).unwrap();
    for worker in 0..4 {
        let thread = format!("db-{worker} (tid ");
        let samples: u64 = text
            .lines()
            .filter(|line| line.starts_with(&thread))
            .filter(|line| line.contains(";worker (") && line.contains(";query_rows ("))
            .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        // Each worker burns about 0.3 CPU s in its queries: ~30 samples at 99 Hz.
        assert!(
            samples >= 5,
            "db-{worker}: {samples} samples in worker;query_rows\n{text}"
        );
    }
}
