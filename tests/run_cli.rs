//! `rpprof run` behaves as `python` does: output, `sys.argv`, `sys.path`, `__name__`,
//! `__file__`, `PYTHONPATH`, exit statuses, and one-line errors for user mistakes.

mod common;

use common::{example, root, rpprof, run, TempDir};

/// Examples whose output does not depend on timing, with what CPython 3.11 printed for them
/// (`python3 examples/NAME.py > tests/expected/NAME.out`).
const DETERMINISTIC_EXAMPLES: [&str; 4] = ["threads", "recursive", "generators", "mixed"];

#[test]
fn examples_print_what_cpython_prints() {
    for name in DETERMINISTIC_EXAMPLES {
        let ran = run(rpprof().arg("run").arg(example(&format!("{name}.py"))));
        ran.expect_code(0);
        let expected =
            std::fs::read_to_string(root().join("tests/expected").join(format!("{name}.out")))
                .unwrap();
        assert_eq!(ran.stdout, expected, "output of examples/{name}.py");
        if common::cpython_311() {
            let cpython = std::process::Command::new("python3")
                .arg(example(&format!("{name}.py")))
                .output()
                .unwrap();
            assert_eq!(
                ran.stdout,
                String::from_utf8_lossy(&cpython.stdout),
                "{name} vs python3"
            );
        }
    }
}

#[test]
fn service_example_serves_and_stops() {
    let ran = run(rpprof().args(["run"]).arg(example("service.py")).arg("1"));
    ran.expect_code(0);
    assert!(ran.stdout.contains("served "), "{}", ran.stdout);
    assert!(ran.stdout.ends_with("service stopped\n"), "{}", ran.stdout);
}

#[test]
fn script_sees_argv_path_name_and_file() {
    let dir = TempDir::new("argv");
    let script = dir.write(
        "show.py",
        "import sys, os\n\
         print(sys.argv)\n\
         print(__name__)\n\
         print(__file__ == os.path.abspath(__file__), os.path.basename(__file__))\n\
         print(sys.path[0] == os.path.dirname(os.path.realpath(__file__)))\n",
    );
    let ran = run(rpprof()
        .arg("run")
        .arg(&script)
        .args(["one", "--two", "-c", "3"]));
    ran.expect_code(0);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("['{}', 'one', '--two', '-c', '3']", script.display())
    );
    assert_eq!(lines[1], "__main__");
    assert_eq!(lines[2], "True show.py");
    assert_eq!(lines[3], "True");
}

#[test]
fn pythonpath_and_script_directory_are_importable() {
    let dir = TempDir::new("path");
    dir.write("lib/helper_mod.py", "VALUE = 42\n");
    dir.write("app/sibling.py", "NAME = 'sibling'\n");
    let script = dir.write(
        "app/main.py",
        "import helper_mod, sibling\nprint(helper_mod.VALUE, sibling.NAME)\n",
    );
    let ran = run(rpprof()
        .arg("run")
        .arg(&script)
        .env("PYTHONPATH", dir.join("lib")));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "42 sibling\n");
}

#[test]
fn module_and_code_modes() {
    let dir = TempDir::new("modes");
    dir.write("pkg/__init__.py", "");
    dir.write("pkg/tool.py", "import sys\nprint(__name__, sys.argv[1:])\n");
    let ran = run(rpprof()
        .current_dir(dir.path())
        .args(["run", "-m", "pkg.tool", "a", "-b"]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "__main__ ['a', '-b']\n");

    let ran = run(rpprof().args([
        "run",
        "-c",
        "import sys; print(sys.argv, __name__)",
        "x",
        "-y",
    ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "['-c', 'x', '-y'] __main__\n");

    // `-m MODULE` after record's own options is the module, as the usage line says (it
    // was once taken for `--mode`).
    let ran = run(rpprof().current_dir(dir.path()).args([
        "record", "--mode", "wall", "-o", "p.folded", "-m", "pkg.tool", "a",
    ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "__main__ ['a']\n");
}

#[test]
fn directory_with_main_runs_like_python() {
    let dir = TempDir::new("dirmain");
    dir.write("app/__main__.py", "print('main of app')\n");
    let ran = run(rpprof().arg("run").arg(dir.join("app")));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "main of app\n");
}

#[test]
fn exit_statuses_follow_python() {
    let ran = run(rpprof().args(["run", "-c", "raise SystemExit(7)"]));
    ran.expect_code(7);
    let ran = run(rpprof().args(["run", "-c", "import sys; sys.exit('bye')"]));
    ran.expect_code(1);
    assert_eq!(ran.stderr, "bye\n");
    let ran = run(rpprof().args(["run", "-c", "import sys; sys.exit(None)"]));
    ran.expect_code(0);
}

#[test]
fn uncaught_exception_prints_traceback_and_exits_1() {
    let dir = TempDir::new("raise");
    let script = dir.write(
        "boom.py",
        "def f():\n    raise ValueError('bad value')\nf()\n",
    );
    let ran = run(rpprof().arg("run").arg(&script));
    ran.expect_code(1);
    assert!(
        ran.stderr.starts_with("Traceback (most recent call last):"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("line 2, in f"), "{}", ran.stderr);
    assert!(
        ran.stderr.ends_with("ValueError: bad value\n"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
}

#[test]
fn missing_script_is_one_line_and_status_2() {
    let dir = TempDir::new("missing");
    let missing = dir.join("nope.py");
    let ran = run(rpprof().arg("run").arg(&missing));
    ran.expect_code(2);
    assert_eq!(
        ran.stderr,
        format!(
            "rpprof: can't open file '{}': [Errno 2] No such file or directory\n",
            missing.display()
        )
    );
}

#[test]
fn unreadable_script_is_one_line_and_status_2() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("unreadable");
    let script = dir.write("secret.py", "print('no')\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&script).is_ok() {
        // Running as root: permissions do not stop us; nothing to test here.
        return;
    }
    let ran = run(rpprof().arg("run").arg(&script));
    ran.expect_code(2);
    assert_eq!(
        ran.stderr,
        format!(
            "rpprof: can't open file '{}': [Errno 13] Permission denied\n",
            script.display()
        )
    );
}

#[test]
fn script_under_a_file_is_one_line_and_status_2() {
    let dir = TempDir::new("notdir");
    let file = dir.write("plain.txt", "");
    let script = file.join("x.py");
    let ran = run(rpprof().arg("run").arg(&script));
    ran.expect_code(2);
    assert_eq!(
        ran.stderr,
        format!(
            "rpprof: can't open file '{}': [Errno 20] Not a directory\n",
            script.display()
        )
    );
}

#[test]
fn bad_flags_give_usage_and_status_2() {
    for args in [
        vec!["run", "--bogus"],
        vec!["run"],
        vec!["run", "-c"],
        vec!["frobnicate"],
    ] {
        let ran = run(rpprof().args(&args));
        ran.expect_code(2);
        assert!(ran.stderr.contains("Usage:"), "{args:?}: {}", ran.stderr);
        assert!(!ran.stderr.contains("panicked"), "{args:?}: {}", ran.stderr);
    }
}

#[test]
fn stdout_and_stderr_are_flushed_at_exit() {
    let ran = run(rpprof().args([
        "run",
        "-c",
        "import sys\nsys.stdout.write('no newline')\nsys.stderr.write('err too')\nraise SystemExit(3)",
    ]));
    ran.expect_code(3);
    assert_eq!(ran.stdout, "no newline");
    assert_eq!(ran.stderr, "err too");
}
