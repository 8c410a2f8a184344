//! A program's text encoding comes from the user's locale, as under CPython: a UTF-8 locale
//! gives UTF-8 text I/O, the C locale is coerced to UTF-8 (PEP 538) with UTF-8 mode on
//! (PEP 540) for the program and its children, and `PYTHONIOENCODING` and `PYTHONUTF8`
//! are honoured.

mod common;

use std::process::Command;

use common::{rpprof, run};

/// rpprof as a Python interpreter with no locale variables but `vars`.
fn python_with(vars: &[(&str, &str)]) -> Command {
    let mut command = rpprof();
    for name in [
        "LANG",
        "LANGUAGE",
        "LC_ALL",
        "LC_CTYPE",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONCOERCECLOCALE",
    ] {
        command.env_remove(name);
    }
    command.envs(vars.iter().copied());
    command
}

#[test]
fn a_utf8_locale_gives_utf8_text() {
    let ran = run(python_with(&[("LANG", "C.UTF-8")]).args([
        "-c",
        "import sys, tempfile\n\
         print('caf\\u00e9', sys.flags.utf8_mode)\n\
         with tempfile.TemporaryFile('w+') as f:\n    print(f.encoding.lower().replace('-', ''))",
    ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "café 0\nutf8\n", "{}", ran.stderr);
}

#[test]
fn the_c_locale_is_coerced_for_the_program_and_its_children() {
    let ran = run(python_with(&[]).args([
        "-c",
        "import os, subprocess, sys\n\
         print(sys.stdout.encoding, sys.flags.utf8_mode, os.environ.get('LC_CTYPE'))\n\
         sys.stdout.flush()\n\
         subprocess.run([sys.executable, '-c', 'print(\"\\u00e9t\\u00e9\")'], check=True)",
    ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "utf-8 1 C.UTF-8\nété\n", "{}", ran.stderr);
}

#[test]
fn pythonioencoding_and_pythonutf8_are_honoured() {
    let mut command = python_with(&[("LANG", "C.UTF-8"), ("PYTHONIOENCODING", "latin-1:replace")]);
    let output = command
        .args(["-c", "print('caf\\u00e9 \\u20ac')"])
        .output()
        .expect("rpprof starts");
    assert!(output.status.success());
    assert_eq!(output.stdout, b"caf\xe9 ?\n");

    let ran = run(
        python_with(&[("PYTHONUTF8", "0"), ("PYTHONCOERCECLOCALE", "0")]).args([
            "-c",
            "import sys; print(sys.flags.utf8_mode, sys.stdout.encoding)",
        ]),
    );
    ran.expect_code(0);
    assert_eq!(ran.stdout, "0 ANSI_X3.4-1968\n", "{}", ran.stderr);
}
