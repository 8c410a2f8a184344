//! Real programs from PyPI run through the binary (issue 23's "Done when"): SQLAlchemy's
//! ORM, rich, docutils, Django under the agent, gunicorn's workers under
//! `record --subprocesses`, and pytest on more-itertools' and attrs' own tests. Their
//! output is compared with CPython 3.11's (`python3`) on the same wheels.
//!
//! The wheels are fetched by the test set-up into `target/pypi-cache` (see
//! `tests/real/pypi.rs`), never kept in the repository. Offline, or without `python3` and
//! its pip, each test prints one `skipped ...` line and passes.

mod common;
#[path = "real/pypi.rs"]
mod pypi;
#[path = "real/pytest_outcomes.rs"]
mod pytest_outcomes;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{root, rpprof, run, Ran, TempDir};

/// The programs' scripts and inputs.
fn real(name: &str) -> PathBuf {
    root().join("tests/scripts/real").join(name)
}

/// The wheels for `requirements`, or None after a `skipped` line (offline, no pip, no
/// CPython 3.11 to compare with).
fn packages(test: &str, requirements: &[&str]) -> Option<Vec<PathBuf>> {
    if !common::cpython_311() {
        pypi::skip(test, "no CPython 3.11 as python3 to compare with");
        return None;
    }
    match pypi::wheels(requirements) {
        Ok(dirs) => Some(dirs),
        Err(why) => {
            pypi::skip(test, &why);
            None
        }
    }
}

/// `command` with the packages on `PYTHONPATH` and a UTF-8 locale, run in `cwd`.
fn with_packages<'a>(command: &'a mut Command, path: &[PathBuf], cwd: &Path) -> &'a mut Command {
    command
        .env("PYTHONPATH", pypi::python_path(path))
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("PYTHONIOENCODING")
        .current_dir(cwd)
}

/// CPython 3.11 on the same packages (`-s`: no user site-packages).
fn cpython(path: &[PathBuf], cwd: &Path, args: &[&std::ffi::OsStr]) -> Ran {
    let mut command = Command::new("python3");
    command.arg("-s").args(args);
    run(with_packages(&mut command, path, cwd))
}

/// rpprof with ARGS (a subcommand and its options first, if any) on the same packages.
fn rpprof_on(path: &[PathBuf], cwd: &Path, args: &[&std::ffi::OsStr]) -> Ran {
    let mut command = rpprof();
    command.args(args);
    run(with_packages(&mut command, path, cwd))
}

/// `pytest ARGS` (`python -m pytest ...`) under `rpprof record` and under CPython, in
/// `source`: rpprof's run, CPython's run and the folded profile `record` wrote.
fn recorded_and_cpython(
    test: &str,
    path: &[PathBuf],
    source: &Path,
    pytest: &[&std::ffi::OsStr],
) -> (Ran, Ran, String) {
    let folded = std::env::temp_dir().join(format!("rpprof-{test}-{}.folded", std::process::id()));
    // `--` ends `record`'s options before the program's.
    let mut args = vec![
        std::ffi::OsStr::new("record"),
        "-o".as_ref(),
        folded.as_os_str(),
        "--".as_ref(),
    ];
    args.extend_from_slice(pytest);
    let recorded = timed(&format!("{test} rpprof record"), || {
        rpprof_on(path, source, &args)
    });
    let expected = cpython(path, source, pytest);
    let profile = std::fs::read_to_string(&folded).unwrap_or_default();
    let _ = std::fs::remove_file(&folded);
    (recorded, expected, profile)
}

/// Runs `f`, printing how long it took (shown with `--nocapture`).
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let result = f();
    eprintln!("{what}: {:.2} s", start.elapsed().as_secs_f64());
    result
}

/// SQLAlchemy's ORM with 10,000 rows in sqlite, under `run` and under `record`: output
/// identical to CPython's. Guards the C3 MRO fix (2.1 failed at import, 2.0 raised
/// `NotImplementedError` from `_copy_internals`), the nested conditional annotation
/// (2.1's `orm/relationships.py`) and text I/O in UTF-8.
fn sqlalchemy_orm(test: &str, requirement: &str) {
    let Some(path) = packages(test, &[requirement, "typing_extensions==4.16.0"]) else {
        return;
    };
    let dir = TempDir::new(test);
    let script = real("sqlalchemy_orm.py");
    let expected = timed(&format!("{test} python3"), || {
        cpython(&path, dir.path(), &[script.as_os_str()])
    });
    expected.expect_code(0);
    assert!(
        expected.stdout.contains("books 10000"),
        "{}",
        expected.stdout
    );

    let ran = timed(&format!("{test} rpprof run"), || {
        rpprof_on(&path, dir.path(), &[script.as_os_str()])
    });
    ran.expect_code(0);
    assert_eq!(ran.stdout, expected.stdout, "{}", ran.stderr);

    let folded = dir.join("orm.folded");
    let recorded = timed(&format!("{test} rpprof record"), || {
        rpprof_on(
            &path,
            dir.path(),
            &[
                "record".as_ref(),
                "-o".as_ref(),
                folded.as_os_str(),
                script.as_os_str(),
            ],
        )
    });
    recorded.expect_code(0);
    assert_eq!(recorded.stdout, expected.stdout, "{}", recorded.stderr);
    let profile = std::fs::read_to_string(&folded).unwrap();
    assert!(
        profile.contains("sqlalchemy/orm/"),
        "the profile shows SQLAlchemy's ORM:\n{profile}"
    );
}

#[test]
fn sqlalchemy_2_0_orm_10k_rows_matches_cpython() {
    sqlalchemy_orm("sqlalchemy-2.0", "sqlalchemy==2.0.59");
}

#[test]
fn sqlalchemy_2_1_orm_10k_rows_matches_cpython() {
    sqlalchemy_orm("sqlalchemy-2.1", "sqlalchemy==2.1.9");
}

/// rich renders a table of non-ASCII text (accents, CJK, emoji) to stdout as to a UTF-8
/// terminal (truecolor escapes) and to a file: both byte for byte as under CPython. Guards
/// text I/O following the locale (it was ASCII) and `unicodedata` widths.
#[test]
fn rich_table_with_non_ascii_text_matches_cpython() {
    let test = "rich";
    let Some(path) = packages(
        test,
        &[
            "rich==15.0.0",
            "markdown-it-py==4.3.0",
            "mdurl==0.1.2",
            "pygments==2.21.0",
        ],
    ) else {
        return;
    };
    let dir = TempDir::new(test);
    let script = real("rich_table.py");
    let (cp_file, rp_file) = (dir.join("cpython.txt"), dir.join("rpprof.txt"));
    let expected = cpython(
        &path,
        dir.path(),
        &[script.as_os_str(), cp_file.as_os_str()],
    );
    expected.expect_code(0);
    assert!(
        expected.stdout.contains("Crème brûlée"),
        "{}",
        expected.stdout
    );
    let ran = timed("rich rpprof run", || {
        rpprof_on(
            &path,
            dir.path(),
            &[script.as_os_str(), rp_file.as_os_str()],
        )
    });
    ran.expect_code(0);
    assert_eq!(ran.stdout, expected.stdout, "{}", ran.stderr);
    assert_eq!(
        std::fs::read_to_string(&rp_file).unwrap(),
        std::fs::read_to_string(&cp_file).unwrap()
    );
}

/// docutils converts an `.rst` file to HTML5, identical to CPython's output, generator
/// line included (the same docutils wheel runs under both). Guards `compile()` on a keyword
/// argument followed by a comment holding `for` (docutils could not be imported at all).
#[test]
fn docutils_rst_to_html_matches_cpython() {
    let test = "docutils";
    let Some(path) = packages(test, &["docutils==0.23.1"]) else {
        return;
    };
    let dir = TempDir::new(test);
    let (script, source) = (real("docutils_html.py"), real("docutils_doc.rst"));
    let (cp_html, rp_html) = (dir.join("cpython.html"), dir.join("rpprof.html"));
    let expected = cpython(
        &path,
        dir.path(),
        &[script.as_os_str(), source.as_os_str(), cp_html.as_os_str()],
    );
    expected.expect_code(0);
    let ran = timed("docutils rpprof run", || {
        rpprof_on(
            &path,
            dir.path(),
            &[script.as_os_str(), source.as_os_str(), rp_html.as_os_str()],
        )
    });
    ran.expect_code(0);
    assert_eq!(ran.stdout, expected.stdout, "{}", ran.stderr);
    let html = std::fs::read_to_string(&rp_html).unwrap();
    assert!(html.contains("Café Guide"), "{html}");
    assert_eq!(html, std::fs::read_to_string(&cp_html).unwrap());
}

/// Django as a new user meets it: `startproject`, `migrate`, then `runserver` under
/// `rpprof agent` answering 200 requests (the welcome page and the admin login form:
/// templates, sessions, CSRF, sqlite), with the project's settings untouched. A profile
/// pulled from the agent over loopback holds Django's request handling. Guards sqlite3's
/// `detect_types`, `zoneinfo`'s database path and text I/O.
#[test]
fn django_startproject_migrate_runserver_profiled_by_agent() {
    use std::io::{BufRead, Read};
    let test = "django";
    let Some(path) = packages(
        test,
        &["django==5.2.20", "asgiref==3.13.0", "sqlparse==0.6.1"],
    ) else {
        return;
    };
    let dir = TempDir::new(test);
    let made = timed("django startproject", || {
        rpprof_on(
            &path,
            dir.path(),
            &["-m", "django", "startproject", "mysite", "."].map(std::ffi::OsStr::new),
        )
    });
    made.expect_code(0);
    let migrated = timed("django migrate", || {
        rpprof_on(
            &path,
            dir.path(),
            &["manage.py", "migrate"].map(std::ffi::OsStr::new),
        )
    });
    migrated.expect_code(0);
    assert!(
        migrated
            .stdout
            .contains("Applying sessions.0001_initial... OK"),
        "{}",
        migrated.stdout
    );

    let port = common::free_port();
    let site = format!("127.0.0.1:{port}");
    let mut command = rpprof();
    command
        .args([
            "agent",
            "--listen",
            "127.0.0.1:0",
            "--window",
            "1s",
            "--store",
        ])
        .arg(dir.join("store"))
        .args(["manage.py", "runserver", "--noreload", &site])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut server = with_packages(&mut command, &path, dir.path())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(server.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let agent = common::agent_address(&first);
    // Django logs every request on stderr: keep reading it so it never blocks.
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });

    let start = Instant::now();
    while std::net::TcpStream::connect(&site).is_err() {
        assert!(
            start.elapsed().as_secs() < 60,
            "runserver did not listen on {site} within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let served = Instant::now();
    for i in 0..200 {
        let (target, expect) = if i % 2 == 0 {
            ("/", "The install worked successfully!")
        } else {
            ("/admin/login/", "csrfmiddlewaretoken")
        };
        let (status, head, body) = common::http_get(&site, target, &[]);
        assert_eq!(status, 200, "request {i} for {target}: {head}");
        assert!(
            String::from_utf8_lossy(&body).contains(expect),
            "request {i} for {target}: {head}"
        );
    }
    eprintln!(
        "django 200 requests under the agent: {:.2} s",
        served.elapsed().as_secs_f64()
    );

    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, head, body) = common::http_get(&agent, "/profile?from=now-5m&format=folded", &[]);
    let _ = server.kill();
    let _ = server.wait();
    let log = log.join().unwrap();
    assert_eq!(status, 200, "{head}");
    let folded = String::from_utf8(body).unwrap_or_else(|e| {
        let bytes = e.into_bytes();
        let kept = std::env::temp_dir().join("rpprof-django-profile.bin");
        std::fs::write(&kept, &bytes).unwrap();
        panic!(
            "the agent's folded profile is not UTF-8 (kept in {})",
            kept.display()
        )
    });
    assert!(
        folded.contains("django/core/handlers/base.py") && folded.contains("get_response ("),
        "the agent's profile holds Django's request handling:\n{folded}\n--- stderr\n{log}"
    );
    assert!(
        !log.contains("Traceback"),
        "runserver printed a traceback:\n{log}"
    );
}

/// The number before `what` ("passed", "failed", "skipped", "subtests passed") in pytest's
/// summary line, 0 when absent.
fn pytest_count(summary: &str, what: &str) -> u64 {
    let line = summary
        .lines()
        .rev()
        .find(|l| l.contains(" in ") && (l.contains("passed") || l.contains("failed")))
        .unwrap_or_else(|| panic!("no pytest summary in\n{summary}"));
    let words: Vec<&str> = line
        .trim_matches(|c: char| c == '=' || c.is_whitespace())
        .split([' ', ','])
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(3)
        .find_map(|w| {
            let named = if what.contains(' ') {
                format!("{} {}", w[1], w[2])
            } else {
                w[1].to_owned()
            };
            (named == what).then(|| w[0].parse().ok()).flatten()
        })
        .unwrap_or(0)
}

/// The test classes of more-itertools' `tests/test_more.py` that run here: those whose
/// functions use `itertools.compress` (`islice_extended`, `ilen`, `locate`,
/// `derangements`) and `groupby` (`consecutive_groups`, `run_length`,
/// `groupby_transform`), and `seekable`. The whole file takes ~60 s under rpprof against
/// ~11 s under CPython; these take ~20 s and held 52 of the 56 failures before the
/// `compress` fix. Where their time goes under rpprof (`record --native`): 43% in
/// `gc.collect`, which `test_elements_lifecycle` calls at every step where the
/// interpreter has no reference counting, and 33% in `compile`: pytest rewrites
/// assertions through `ast.parse` and `compile(tree)`, both superlinear in the module's
/// size under RustPython 0.6.0 (4,750 lines: 1.6 s and 3.0 s, against 0.16 s and 0.05 s
/// under CPython).
const MORE_ITERTOOLS_SUBSET: &str = "DerangementsTests or IlenTests or LocateTests or \
     IsliceExtendedTests or ConsecutiveGroupsTest or SeekableTest or RunLengthTest or \
     GroupByTransformTests";

/// pytest and what it needs, pinned, for the test suites run below.
const PYTEST: &[&str] = &[
    "pytest==9.2.0",
    "iniconfig==2.3.1",
    "pluggy==1.7.0",
    "packaging==26.4",
    "pygments==2.21.0",
];

/// pytest on more-itertools' own tests (from its sdist) under `run`, then a smaller part
/// under `record`: as many passes as CPython 3.11.
///
/// The one difference is not a version gate: `SeekableTest.
/// test_repeated_zero_cache_peek_has_bounded_memory` is `skipUnless(
/// platform.python_implementation() == 'CPython')` (it uses tracemalloc), so it passes
/// under CPython and is skipped under rpprof. `test_more.py` 11.2.1 has no 3.14 version
/// gates.
#[test]
fn pytest_on_more_itertools_own_tests_passes_as_under_cpython() {
    let test = "more-itertools";
    let Some(mut path) = packages(test, PYTEST) else {
        return;
    };
    let source = match pypi::sdist("more-itertools==11.2.1") {
        Ok(source) => source,
        Err(why) => return pypi::skip(test, &why),
    };
    path.insert(0, source.clone());
    fn pytest(subset: &str) -> Vec<&std::ffi::OsStr> {
        let args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"];
        let tests = ["tests/test_more.py", "-k", subset];
        args.into_iter()
            .chain(tests)
            .map(std::ffi::OsStr::new)
            .collect()
    }
    let expected = timed("more-itertools python3", || {
        cpython(&path, &source, &pytest(MORE_ITERTOOLS_SUBSET))
    });
    expected.expect_code(0);
    let ran = timed("more-itertools rpprof run", || {
        rpprof_on(&path, &source, &pytest(MORE_ITERTOOLS_SUBSET))
    });
    ran.expect_code(0);
    assert_eq!(pytest_count(&ran.stdout, "failed"), 0, "{}", ran.stdout);
    assert_eq!(
        pytest_count(&ran.stdout, "subtests passed"),
        pytest_count(&expected.stdout, "subtests passed"),
        "{}",
        ran.stdout
    );
    // CPython's one extra pass is the tracemalloc test skipped under rpprof (see above).
    assert_eq!(
        pytest_count(&ran.stdout, "passed") + 1,
        pytest_count(&expected.stdout, "passed"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("retained allocation check uses CPython tracemalloc"),
        "{}",
        ran.stdout
    );

    // Under `record`, the classes that need the `compress` fix.
    let (recorded, expected, profile) = recorded_and_cpython(
        test,
        &path,
        &source,
        &pytest("IsliceExtendedTests or IlenTests or LocateTests"),
    );
    recorded.expect_code(0);
    assert_eq!(
        pytest_count(&recorded.stdout, "passed"),
        pytest_count(&expected.stdout, "passed"),
        "{}",
        recorded.stdout
    );
    assert_eq!(
        pytest_count(&recorded.stdout, "subtests passed"),
        pytest_count(&expected.stdout, "subtests passed"),
        "{}",
        recorded.stdout
    );
    assert!(profile.contains("more_itertools/more.py"), "{profile}");
}

/// attrs' own suite as run here: all of `tests/` but for its two largest files, whose
/// property-based tests take more than half of the whole suite's ~80 s under a debug build
/// (10 s under CPython; `benches/sections/attrs_suite.py` runs it all). What is left holds
/// every difference from CPython 3.11 that the whole suite shows, and the tests that guard
/// rpprof's fixes: abstract classes (the "Can't instantiate abstract class" message),
/// slotted classes and `__init_subclass__` (the MRO and `__init_subclass__` stand-ins),
/// `mappingproxy`'s message for `del` (`test_compat.py`). The directory, not a list of
/// files, so that `tests/conftest.py`'s `collect_ignore` applies.
const ATTRS_TESTS: [&str; 3] = [
    "tests",
    "--ignore=tests/test_funcs.py",
    "--ignore=tests/test_make.py",
];

/// Every test among [`ATTRS_TESTS`] whose outcome differs between CPython 3.11 and rpprof:
/// (test, outcome under CPython, under rpprof). rpprof's interpreter says it is Python 3.14
/// (`sys.version_info` 3.14.0 alpha) and ships 3.14's standard library, so attrs' version
/// gates choose otherwise:
/// - `tests/conftest.py` leaves `test_forward_references.py` out below 3.14;
/// - `test_slots_cached_property_infers_type` is `xfail(PY_3_14_PLUS, reason="3.14 does
///   not infer the type anymore.")`;
/// - `TestReplace` is `skipif(not PY_3_13_PLUS)` (`copy.replace`).
///
/// And one that is not a gate: `TestPipe::test_wrapped_annotation` fails under CPython
/// 3.11.7, whose `inspect.signature()` refuses an instance whose `__call__` is a slot
/// (attrs' `Converter`); 3.14's `inspect` reads it. CPython's outcome may be either
/// (`failed|passed`): attrs' code expects 3.11's `inspect` to read it, and a later 3.11
/// may (CPython's gh-101293, after 3.11.7, changed how `inspect` reads such callables).
const ATTRS_DIFFERENCES: [(&str, &str, &str); 7] = [
    (
        "tests/test_converters.py::TestPipe::test_wrapped_annotation",
        "failed|passed",
        "passed",
    ),
    (
        "tests/test_forward_references.py::test_forward_class_reference",
        "not collected",
        "passed",
    ),
    (
        "tests/test_functional.py::TestReplace::test_already_has_one",
        "skipped",
        "passed",
    ),
    (
        "tests/test_functional.py::TestReplace::test_invalid_field_name",
        "skipped",
        "passed",
    ),
    (
        "tests/test_functional.py::TestReplace::test_replaces",
        "skipped",
        "passed",
    ),
    (
        "tests/test_slots.py::test_slots_cached_property_infers_type",
        "passed",
        "xfailed",
    ),
    // Not a difference, but the guard of the mappingproxy fix: listed so that the
    // assertion below names it when it regresses (it is checked to pass under both).
    (
        "tests/test_compat.py::TestMetadataProxy::test_immutable",
        "passed",
        "passed",
    ),
];

/// `args` borrowed as the helpers above take them.
fn os_args(args: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    args.iter().map(|a| a.as_os_str()).collect()
}

/// pytest on attrs' own tests (from its sdist; attrs from its wheel, as attrs' tox installs
/// it) under `run`, then two files under `record`: test by test (JUnit XML), the same
/// outcomes as under CPython 3.11 but for [`ATTRS_DIFFERENCES`]. `python3 -S` keeps
/// CPython's own site-packages (another attrs, cloudpickle) out, as rpprof has none;
/// `--hypothesis-seed=0` draws the same examples in both.
#[test]
fn pytest_on_attrs_own_tests_passes_as_under_cpython() {
    let test = "attrs";
    let attrs_tests = [
        &["attrs==25.4.0"],
        PYTEST,
        &["hypothesis==6.155.7", "sortedcontainers==2.4.0"],
    ]
    .concat();
    let Some(path) = packages(test, &attrs_tests) else {
        return;
    };
    let source = match pypi::sdist("attrs==25.4.0") {
        Ok(source) => source,
        Err(why) => return pypi::skip(test, &why),
    };
    let dir = TempDir::new(test);
    let pytest = |files: &[&str], junit: &Path| -> Vec<std::ffi::OsString> {
        ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
            .into_iter()
            .chain(["--hypothesis-seed=0", "-rfEsxX"])
            .chain(files.iter().copied())
            .map(std::ffi::OsString::from)
            .chain([format!("--junitxml={}", junit.display()).into()])
            .collect()
    };
    let (cp_xml, rp_xml) = (dir.join("cpython.xml"), dir.join("run.xml"));
    let expected = timed("attrs python3", || {
        let args = [vec!["-S".into()], pytest(&ATTRS_TESTS, &cp_xml)].concat();
        cpython(&path, &source, &os_args(&args))
    });
    let theirs = pytest_outcomes::read(&cp_xml, &expected.stdout);
    let ran = timed("attrs rpprof run", || {
        rpprof_on(&path, &source, &os_args(&pytest(&ATTRS_TESTS, &rp_xml)))
    });
    let ours = pytest_outcomes::read(&rp_xml, &ran.stdout);
    assert!(
        pytest_outcomes::count(&ours, "passed") > 1000,
        "{}",
        ran.stdout
    );
    let mut differences = pytest_outcomes::differences(&theirs, &ours);
    for (name, cpython_outcome, rpprof_outcome) in ATTRS_DIFFERENCES {
        let seen = differences.remove(name).unwrap_or_else(|| {
            let outcome = |run: &pytest_outcomes::Outcomes| {
                run.get(name).copied().unwrap_or("not collected").to_owned()
            };
            (outcome(&theirs), outcome(&ours))
        });
        assert!(
            cpython_outcome.split('|').any(|o| o == seen.0) && seen.1 == rpprof_outcome,
            "{name}: {seen:?} (CPython, rpprof), expected ({cpython_outcome}, \
             {rpprof_outcome}):\n{}",
            ran.stdout
        );
    }
    assert!(
        differences.is_empty(),
        "tests whose outcome differs from CPython's (CPython, rpprof): {differences:#?}\n{}",
        ran.stdout
    );

    // Under `record`, two of the files, against CPython's outcomes for them above.
    let files = ["tests/test_abc.py", "tests/test_compat.py"];
    let (folded, rec_xml) = (dir.join("attrs.folded"), dir.join("record.xml"));
    let mut args: Vec<std::ffi::OsString> = vec!["record".into(), "-o".into(), folded.into()];
    args.push("--".into());
    args.extend(pytest(&files, &rec_xml));
    let recorded = timed("attrs rpprof record", || {
        rpprof_on(&path, &source, &os_args(&args))
    });
    let ours = pytest_outcomes::read(&rec_xml, &recorded.stdout);
    let theirs: pytest_outcomes::Outcomes = theirs
        .into_iter()
        .filter(|(test, _)| files.iter().any(|file| test.starts_with(file)))
        .collect();
    assert!(pytest_outcomes::count(&theirs, "passed") >= 7, "{theirs:?}");
    assert_eq!(
        pytest_outcomes::differences(&theirs, &ours),
        Default::default(),
        "tests whose outcome under record differs from CPython's: {}",
        recorded.stdout
    );
    let profile = std::fs::read_to_string(dir.join("attrs.folded")).unwrap_or_default();
    assert!(profile.contains("attr/_make.py"), "{profile}");
}

/// gunicorn with two workers, no shims, under `record --subprocesses`: 100 requests
/// answered, and the profile holds the arbiter and both workers (`python-child (pid N)`
/// roots). Guards `os.utime(fd)` and `select` through `fileno()` (the workers crashed in a
/// loop).
#[test]
fn gunicorn_two_workers_recorded_with_subprocesses() {
    let test = "gunicorn";
    let Some(mut path) = packages(test, &["gunicorn==27.0.1", "packaging==26.4"]) else {
        return;
    };
    path.push(root().join("tests/scripts/real"));
    let dir = TempDir::new(test);
    let folded = dir.join("gunicorn.folded");
    let port = common::free_port();
    let site = format!("127.0.0.1:{port}");
    let mut command = rpprof();
    command
        .args(["record", "--subprocesses", "-o"])
        .arg(&folded)
        .args([
            "--",
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-b",
            &site,
            "gunicorn_app:app",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut server = with_packages(&mut command, &path, dir.path())
        .spawn()
        .unwrap();
    let mut stderr = server.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let start = Instant::now();
    while std::net::TcpStream::connect(&site).is_err() {
        assert!(
            start.elapsed().as_secs() < 60,
            "gunicorn did not listen on {site}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let served = Instant::now();
    for i in 0..100 {
        let (status, head, body) = common::http_get(&site, "/", &[]);
        assert_eq!(status, 200, "request {i}: {head}");
        assert_eq!(String::from_utf8_lossy(&body), "2666466670000\n");
    }
    eprintln!(
        "gunicorn 100 requests under record: {:.2} s",
        served.elapsed().as_secs_f64()
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let start = Instant::now();
    while server.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() > 60 {
            let _ = server.kill();
            panic!("gunicorn under record did not stop on SIGTERM within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = log.join().unwrap();
    let profile =
        std::fs::read_to_string(&folded).unwrap_or_else(|e| panic!("no profile ({e}):\n{log}"));
    let mut workers: Vec<&str> = profile
        .lines()
        .filter_map(|l| l.strip_prefix("python-child (pid "))
        .filter_map(|rest| rest.split(')').next())
        .collect();
    workers.sort_unstable();
    workers.dedup();
    assert!(
        workers.len() >= 2,
        "both workers' samples are in the profile ({workers:?}):\n{profile}\n--- stderr\n{log}"
    );
    assert!(profile.contains("gunicorn_app.py"), "{profile}");
}
