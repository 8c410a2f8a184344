//! rpprof started as a Python interpreter: CPython's command line (`rpprof -c`, `-m`, `-`,
//! flags), a `python3` link to the binary, and what `sys.executable` makes possible:
//! `subprocess` and multiprocessing's three start methods, under `run`, `record` and
//! `agent`.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::{rpprof, run, TempDir};

const BINARY: &str = env!("CARGO_BIN_EXE_rpprof");

fn script(name: &str) -> std::path::PathBuf {
    common::root().join("tests").join("scripts").join(name)
}

/// `rpprof` without the `PYTHON*` variables this machine may set (they change `sys.flags`).
fn plain_rpprof() -> Command {
    let mut command = rpprof();
    for name in [
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "PYTHONOPTIMIZE",
    ] {
        command.env_remove(name);
    }
    command
}

/// Runs `command` with `input` on stdin.
fn run_with_stdin(command: &mut Command, input: &str) -> common::Ran {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rpprof starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    common::Ran::from(child.wait_with_output().unwrap())
}

#[test]
fn code_module_and_stdin_run_without_a_subcommand() {
    let ran = run(rpprof().args(["-c", "import sys; print(sys.argv)", "a", "-x"]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "['-c', 'a', '-x']\n");

    let dir = TempDir::new("pycli-module");
    dir.write(
        "greet.py",
        "import sys\nprint('hello', __name__, sys.argv[1:])\n",
    );
    let ran = run(rpprof().current_dir(dir.path()).args(["-m", "greet", "x"]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "hello __main__ ['x']\n");

    let ran = run_with_stdin(
        rpprof().args(["-", "arg"]),
        "import sys\nprint('from stdin', sys.argv, __name__)\nraise SystemExit(4)\n",
    );
    ran.expect_code(4);
    assert_eq!(ran.stdout, "from stdin ['-', 'arg'] __main__\n");
}

#[test]
fn combined_flags_and_option_values_are_honoured() {
    let code = "import sys\n\
                print(sys.flags.dont_write_bytecode, sys.flags.no_user_site, sys.flags.optimize,\n\
                      sys.flags.isolated, sys.flags.safe_path, sys.flags.no_site)\n\
                print(sys._xoptions, sys.warnoptions)\n\
                assert False, 'asserts stay under -O'\n\
                print('asserts removed')";
    let ran = run(plain_rpprof().args([
        "-BsOO",
        "-Wignore",
        "-W",
        "error::DeprecationWarning",
        "-X",
        "faulthandler",
        "-Xfoo=bar",
        "-I",
        "-Su",
        "-c",
        code,
    ]));
    ran.expect_code(0);
    assert_eq!(
        ran.stdout,
        "1 1 2 1 True 1\n\
         {'faulthandler': True, 'foo': 'bar'} ['ignore', 'error::DeprecationWarning']\n\
         asserts removed\n"
    );
    // -E ignores PYTHON* variables, -u unbuffers: output before a crash still arrives.
    let ran = run(plain_rpprof().env("PYTHONOPTIMIZE", "1").args([
        "-E",
        "-u",
        "-c",
        "import sys, os; print(sys.flags.optimize, end=''); os._exit(0)",
    ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "0");
}

#[test]
fn unknown_flag_gets_cpython_wording_and_status_2() {
    let ran = run(rpprof().args(["-BZ", "x.py"]));
    ran.expect_code(2);
    assert_eq!(ran.stdout, "");
    assert_eq!(
        ran.stderr,
        format!(
            "Unknown option: -Z\n\
             usage: {BINARY} [option] ... [-c cmd | -m mod | file | -] [arg] ...\n\
             Try `python -h' for more information.\n"
        )
    );
    let ran = run(rpprof().args(["-W"]));
    ran.expect_code(2);
    assert!(ran
        .stderr
        .starts_with("Argument expected for the -W option\nusage: "));
    let ran = run(rpprof().args(["--frobnicate"]));
    ran.expect_code(2);
    assert!(ran.stderr.starts_with("unknown option --frobnicate\n"));
    // A value CPython refuses at start-up: one line, status 1.
    let ran = run(rpprof().args(["-X", "int_max_str_digits=5", "-c", "pass"]));
    ran.expect_code(1);
    assert_eq!(
        ran.stderr,
        "rpprof: -X int_max_str_digits: invalid limit; must be >= 640 or 0 for unlimited.\n"
    );
}

#[test]
fn subcommands_and_rpprof_flags_keep_their_meaning() {
    let ran = run(rpprof().arg("--version"));
    ran.expect_code(0);
    assert!(ran.stdout.starts_with("rpprof "), "{}", ran.stdout);
    let ran = run(&mut rpprof());
    assert!(
        ran.stderr.contains("Usage: rpprof <COMMAND>"),
        "{}",
        ran.stderr
    );
    // A script literally named like a subcommand is reached through `run`.
    let dir = TempDir::new("pycli-record");
    dir.write("record", "print('the script named record')\n");
    let ran = run(rpprof().current_dir(dir.path()).args(["run", "record"]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "the script named record\n");
    // `rpprof run` takes the same flags, and reports mistakes as its other errors.
    let ran = run(plain_rpprof().args([
        "run",
        "-B",
        "-c",
        "import sys; print(sys.flags.dont_write_bytecode)",
    ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "1\n");
    let ran = run(rpprof().args(["run", "-Z", "x.py"]));
    ran.expect_code(2);
    assert!(ran.stderr.contains("Unknown option: -Z"), "{}", ran.stderr);
}

#[test]
fn a_python3_link_is_python_entirely() {
    let dir = TempDir::new("pycli-link");
    let link = dir.join("python3");
    std::os::unix::fs::symlink(BINARY, &link).unwrap();

    let ran = run(Command::new(&link).arg("-V"));
    ran.expect_code(0);
    assert!(ran.stdout.starts_with("Python 3."), "{}", ran.stdout);
    let ran = run(Command::new(&link).arg("-h"));
    ran.expect_code(0);
    assert!(ran.stdout.starts_with(&format!(
        "usage: {} [option] ... [-c cmd | -m mod | file | -] [arg] ...\n",
        link.display()
    )));
    // `sys.executable` is the link, as under CPython, so children are Python too.
    let ran = run(Command::new(&link).args([
        "-c",
        "import sys, subprocess; print(sys.executable); \
         subprocess.run([sys.executable, '-V'], check=True)",
    ]));
    ran.expect_code(0);
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(lines[0], link.display().to_string());
    assert!(lines[1].starts_with("Python 3."), "{}", ran.stdout);
    // No program and stdin not a terminal: stdin is the program.
    let ran = run_with_stdin(&mut Command::new(&link), "print('read from stdin')\n");
    ran.expect_code(0);
    assert_eq!(ran.stdout, "read from stdin\n");
}

#[test]
fn subprocess_runs_sys_executable_as_python() {
    let code = "import subprocess, sys\n\
                r = subprocess.run([sys.executable, '-c', 'import sys; print(sys.argv, 6 * 7)', 'a'],\n\
                                   capture_output=True, text=True)\n\
                print(r.returncode, r.stdout.strip(), repr(r.stderr))";
    let ran = run(rpprof().args(["run", "-c", code]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "0 ['-c', 'a'] 42 ''\n");
    // Whatever argv[0] was, sys.executable is this binary, never another `python3`.
    let ran = run(Command::new(BINARY)
        .arg0("python3")
        .args(["-c", "import sys; print(sys.executable)"]));
    ran.expect_code(0);
    let shown = std::fs::canonicalize(ran.stdout.trim()).unwrap();
    assert_eq!(shown, std::fs::canonicalize(BINARY).unwrap());
}

const EXPECTED_MULTIPROCESSING: &str = "pool [0, 1, 4, 9, 16, 25]\n\
     executor [0, 1, 4, 9]\n";

fn check_multiprocessing_output(ran: &common::Ran, method: &str) {
    ran.expect_code(0);
    assert!(
        ran.stdout.starts_with(EXPECTED_MULTIPROCESSING),
        "{method}: {}\n{}",
        ran.stdout,
        ran.stderr
    );
    assert!(
        ran.stdout.contains(&format!("queue (['{method}'], ")),
        "{method}: {}",
        ran.stdout
    );
    assert!(
        ran.stdout.ends_with("child exit 0\n"),
        "{method}: {}",
        ran.stdout
    );
    assert!(
        !ran.stderr.contains("Traceback"),
        "{method}: {}",
        ran.stderr
    );
}

#[test]
fn multiprocessing_start_methods_under_run() {
    for method in ["fork", "spawn", "forkserver"] {
        let ran = run(rpprof()
            .args(["run"])
            .arg(script("multiprocessing_all.py"))
            .arg(method));
        check_multiprocessing_output(&ran, method);
    }
}

#[test]
fn multiprocessing_start_methods_under_record() {
    let dir = TempDir::new("pycli-record-mp");
    for method in ["fork", "spawn", "forkserver"] {
        let output = dir.join(&format!("{method}.folded"));
        let ran = run(rpprof()
            .args(["record", "-r", "499", "-o"])
            .arg(&output)
            .arg(script("multiprocessing_all.py"))
            .arg(method));
        check_multiprocessing_output(&ran, method);
        // One profile, the parent's: children neither write nor report one.
        assert_eq!(ran.stderr.matches("samples (").count(), 1, "{}", ran.stderr);
        let folded = std::fs::read_to_string(&output).unwrap();
        assert!(
            folded.contains("parent_work (tests/scripts/multiprocessing_all.py:"),
            "{method}: {folded}"
        );
    }
}

#[test]
fn multiprocessing_fork_under_agent() {
    let dir = TempDir::new("pycli-agent-mp");
    let ran = run(rpprof()
        .args(["agent", "--listen", "127.0.0.1:0", "--store"])
        .arg(dir.join("store"))
        .arg(script("multiprocessing_all.py"))
        .arg("fork"));
    check_multiprocessing_output(&ran, "fork");
    assert_eq!(
        ran.stderr.matches("agent stored").count(),
        1,
        "{}",
        ran.stderr
    );
}

#[test]
fn a_forked_child_dies_of_sigterm_under_record() {
    let dir = TempDir::new("pycli-sigterm");
    let output = dir.join("p.folded");
    let ran = run(rpprof()
        .args(["record", "-o"])
        .arg(&output)
        .arg(script("forked_child_sigterm.py")));
    ran.expect_code(0);
    // 15 is SIGTERM.
    assert_eq!(ran.stdout, "child ended by signal 15\nparent carried on\n");
    assert!(output.exists());
}
