//! RustPython 0.6.0's gaps that rpprof works around (`src/python/compat.py`), each shown
//! on a script that fails without the workaround.

mod common;

use common::{rpprof, run};

fn script_says_ok(script: &str) {
    let ran = run(rpprof()
        .arg("run")
        .arg(common::root().join("tests/scripts/compat").join(script)));
    ran.expect_code(0);
    assert!(ran.stdout.contains("ok"), "{script}: {}", ran.stdout);
}

/// werkzeug's `cached_property` (and so Flask's `app.jinja_env`): without the workaround a
/// hot access skips the subclass's `__get__`, and Flask compiled its templates on every
/// request.
#[test]
fn property_subclasses_keep_their_own_get() {
    script_says_ok("property_subclass.py");
}

/// compile() of valid text RustPython refused (docutils), `itertools.compress`'s order
/// (more-itertools), `zoneinfo.TZPATH` (Django), `os.utime(fd)` and `select.select` on an
/// object forwarding `fileno` (gunicorn).
#[test]
fn stdlib_calls_behave_as_under_cpython() {
    script_says_ok("interpreter_gaps.py");
}

/// Django opens every sqlite3 connection with `PARSE_DECLTYPES | PARSE_COLNAMES`: without the
/// workaround its first query (`select 1`-like, an expression column) raised `MemoryError`.
/// Declared types, column names, converters, row factories and a cursor subclass as CPython
/// gives them.
#[test]
fn django_sqlite_connections_convert_declared_types() {
    script_says_ok("django_sqlite.py");
}

/// SQLAlchemy's class hierarchies list a base after a class that already has it: RustPython
/// put that base too early (2.0 resolved `_copy_internals` on the wrong class, 2.1 could not
/// make a later class at import). Classes made by `class` statements get C3's order, and
/// their slots and `super()` follow it.
#[test]
fn sqlalchemy_classes_resolve_methods_in_cpython_order() {
    script_says_ok("sqlalchemy_mro.py");
}

/// `re` patterns given a negative `pos`/`endpos` (found running the libraries' own test
/// suites under rpprof): RustPython raised ValueError, CPython counts it as 0.
#[test]
fn re_patterns_count_negative_positions_as_zero() {
    script_says_ok("re_positions.py");
}

/// Test suites compare the message of an abstract class instantiated (found on the
/// libraries' own suites run under rpprof): RustPython dropped "Can't instantiate abstract
/// class" and did not sort the method names.
#[test]
fn abstract_classes_refuse_instantiation_with_cpythons_message() {
    script_says_ok("abstract_message.py");
}

/// attrs' own suite (`tests/test_compat.py::TestMetadataProxy::test_immutable`) matches the
/// message of `del` on an attribute's read-only metadata: RustPython said "doesn't support
/// item deletion" for every key, CPython "does not" (but for an integer key).
#[test]
fn attrs_metadata_proxies_refuse_deletion_with_cpythons_message() {
    script_says_ok("mappingproxy_delete.py");
}

/// A subclass of `itertools.groupby` (found on the libraries' own suites run under rpprof):
/// RustPython refused it as a base class.
#[test]
fn itertools_groupby_can_be_subclassed() {
    script_says_ok("groupby_subclass.py");
}

/// A service started under `nohup` (or `trap '' INT`) has SIGINT ignored: CPython keeps it
/// so, RustPython installed its KeyboardInterrupt handler anyway. Under `run` and under
/// `record`; and without the trap, Ctrl-C still interrupts.
#[test]
fn nohup_started_programs_keep_ignoring_sigint() {
    let script = common::root().join("tests/scripts/compat/sigint_ignored.py");
    let binary = env!("CARGO_BIN_EXE_rpprof");
    for command in ["run", "record -o /dev/null --format folded"] {
        let ran = run(std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("trap '' INT; exec \"$0\" {command} \"$1\""))
            .arg(binary)
            .arg(&script));
        ran.expect_code(0);
        assert!(ran.stdout.contains("ok"), "{command}: {}", ran.stdout);
    }
    let interrupted = run(rpprof()
        .arg("-c")
        .arg("import os, signal, time; os.kill(os.getpid(), signal.SIGINT); time.sleep(5)"));
    assert!(
        interrupted.stderr.contains("KeyboardInterrupt"),
        "{}",
        interrupted.stderr
    );
}

/// Code that reads or checks a TLS context's floor (`ssl.create_default_context()
/// .minimum_version`) got -2 (`MINIMUM_SUPPORTED`) where CPython says TLS 1.2.
#[test]
fn tls_contexts_report_cpythons_minimum_version() {
    script_says_ok("tls_minimum_version.py");
}

/// SQLAlchemy 2.1's `orm/relationships.py`: a class nested in a class with an annotation
/// under `if TYPE_CHECKING:` did not compile (RustPython's code generator looked for the
/// outer class's conditional annotations), neither imported nor as the main script.
#[test]
fn sqlalchemy_nested_classes_with_conditional_annotations_compile() {
    script_says_ok("sqlalchemy_nested_annotations.py");
}

/// Programs that make archives (`gzip`, `zipfile`, `tarfile`, `zlib` itself) and whose users
/// diff them or compare checksums: RustPython's zlib-rs compressed levels 1 to 6 (and cut
/// level 0's stored blocks) to other bytes than C zlib's. Every level, strategy, window
/// size (zlib, raw and gzip), memory level, dictionary and flush mode, a copy finished on
/// the way, output that crosses CPython's output blocks, and gzip, zipfile and tar.gz
/// archives with fixed times: the same bytes as CPython 3.11's, case by case.
#[test]
fn gzip_and_zipfile_archives_match_cpython_byte_for_byte() {
    if !common::cpython_311() {
        eprintln!(
            "skipped gzip_and_zipfile_archives_match_cpython_byte_for_byte: \
             no CPython 3.11 as python3 to compare with"
        );
        return;
    }
    let script = common::root().join("tests/scripts/compat/zlib_bytes.py");
    let spawn = |command: &mut std::process::Command| {
        command
            .arg(&script)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starts")
    };
    // Both at once: each takes seconds.
    let cpython = spawn(&mut std::process::Command::new("python3"));
    let ours = spawn(rpprof().arg("run"));
    let cpython = common::Ran::from(cpython.wait_with_output().unwrap());
    let ours = common::Ran::from(ours.wait_with_output().unwrap());
    cpython.expect_code(0);
    ours.expect_code(0);
    let expected: Vec<&str> = cpython.stdout.lines().collect();
    let got: Vec<&str> = ours.stdout.lines().collect();
    assert!(expected.len() > 10_000, "{} cases", expected.len());
    assert_eq!(got.len(), expected.len(), "cases run");
    let differ: Vec<String> = expected
        .iter()
        .zip(&got)
        .filter(|(want, have)| want != have)
        .map(|(want, have)| format!("  CPython {want}\n  rpprof  {have}"))
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} cases differ from CPython's bytes, among them:\n{}",
        differ.len(),
        expected.len(),
        differ[..differ.len().min(8)].join("\n")
    );
}
