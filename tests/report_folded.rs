//! `rpprof report` on folded files: the rate and mode recorded in the file's header line
//! give the same time figures as the pprof file of the same run; a folded file without it
//! (another tool's) reports samples, not a guessed CPU time.

mod common;

use common::{rpprof, run, TempDir};

const ONE_CPU_SECOND: &str = "\
import time
end = time.process_time() + 1.0
while time.process_time() < end:
    pass
";

/// The first line of `rpprof report FILE`: `all threads: N samples (T s KIND)`.
fn report_total(path: &std::path::Path) -> String {
    let ran = run(rpprof().arg("report").arg(path));
    ran.expect_code(0);
    ran.stdout.lines().next().unwrap_or_default().to_owned()
}

/// The seconds figure of a total line, with its kind: `(1.01, "cpu")`.
fn seconds(total: &str) -> (f64, String) {
    let inside = total
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("a time figure in {total:?}"));
    let mut words = inside.split_whitespace();
    let value = words.next().unwrap().parse().unwrap();
    assert_eq!(words.next(), Some("s"), "{total}");
    (value, words.next().unwrap().to_owned())
}

#[test]
fn folded_and_pprof_of_one_run_report_the_same_time() {
    let dir = TempDir::new("folded-rate");
    let script = dir.write("loop.py", ONE_CPU_SECOND);
    let (folded, pb) = (dir.join("p.folded"), dir.join("p.pb.gz"));
    run(rpprof()
        .args(["record", "-r", "999", "-o"])
        .arg(&folded)
        .arg("-o")
        .arg(&pb)
        .arg(&script))
    .expect_code(0);
    let header = std::fs::read_to_string(&folded).unwrap();
    assert!(
        header.starts_with("# rpprof folded: rate_hz=999 time=cpu counts=samples/count\n"),
        "{header}"
    );
    let (from_folded, kind) = seconds(&report_total(&folded));
    let (from_pprof, pprof_kind) = seconds(&report_total(&pb));
    assert_eq!((kind.as_str(), pprof_kind.as_str()), ("cpu", "cpu"));
    assert!(
        (0.7..=1.5).contains(&from_folded) && (from_folded - from_pprof).abs() < 0.02,
        "a 1 s loop at 999 Hz: {from_folded} s from folded, {from_pprof} s from pprof"
    );
}

#[test]
fn a_wall_mode_folded_file_reports_wall_time() {
    let dir = TempDir::new("folded-wall");
    let folded = dir.join("w.folded");
    run(rpprof()
        .args(["record", "--mode", "wall", "-r", "199", "-o"])
        .arg(&folded)
        .args(["-c", "import time; time.sleep(0.5)"]))
    .expect_code(0);
    let (value, kind) = seconds(&report_total(&folded));
    assert_eq!(kind, "wall");
    assert!(
        (0.4..=1.2).contains(&value),
        "{value} s wall for a 0.5 s sleep"
    );
}

#[test]
fn a_folded_file_without_our_header_reports_samples() {
    let dir = TempDir::new("folded-foreign");
    let folded = dir.write("other.folded", "main;work 250\nmain;idle 50\n");
    let total = report_total(&folded);
    assert_eq!(
        total, "all threads: 300 samples",
        "no rate, no time: {total}"
    );
}
