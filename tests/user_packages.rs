//! The user's packages reach the program: an activated virtual environment's
//! site-packages, with its `.pth` files (editable installs), unless `-I` or `-E` says to
//! ignore the environment.

mod common;

use common::{rpprof, run, TempDir};

/// A virtual environment as `python3 -m venv` lays it out, with one installed package and
/// one editable install (a `.pth` file naming a source directory elsewhere).
fn make_venv(dir: &TempDir) -> std::path::PathBuf {
    let venv = dir.join("venv");
    let site = venv.join("lib/python3.11/site-packages");
    std::fs::create_dir_all(site.join("installed_pkg")).unwrap();
    std::fs::write(
        site.join("installed_pkg/__init__.py"),
        "NAME = 'installed'\n",
    )
    .unwrap();
    let source = dir.join("src");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("editable_mod.py"), "NAME = 'editable'\n").unwrap();
    std::fs::write(
        site.join("__editable__.editable_mod.pth"),
        format!("{}\n", source.display()),
    )
    .unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.11.2\n",
    )
    .unwrap();
    venv
}

#[test]
fn an_activated_virtualenv_is_on_the_path() {
    let dir = TempDir::new("venv");
    let venv = make_venv(&dir);
    let ran = run(rpprof().env("VIRTUAL_ENV", &venv).args([
        "-c",
        "import installed_pkg, editable_mod; print(installed_pkg.NAME, editable_mod.NAME)",
    ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "installed editable\n", "{}", ran.stderr);

    // The same under `record`, for a script.
    let script = dir.join("uses_packages.py");
    std::fs::write(&script, "import installed_pkg\nprint(installed_pkg.NAME)\n").unwrap();
    let ran = run(rpprof()
        .env("VIRTUAL_ENV", &venv)
        .arg("record")
        .arg("-o")
        .arg(dir.join("out.folded"))
        .arg(&script));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "installed\n", "{}", ran.stderr);
}

#[test]
fn isolated_mode_ignores_the_virtualenv() {
    let dir = TempDir::new("venv-isolated");
    let venv = make_venv(&dir);
    let ran = run(rpprof()
        .env("VIRTUAL_ENV", &venv)
        .args(["-I", "-c", "import installed_pkg"]));
    ran.expect_code(1);
    assert!(ran.stderr.contains("ModuleNotFoundError"), "{}", ran.stderr);
}

/// A C extension built for CPython cannot load: the import says so in one line naming the
/// file, and stays a `ModuleNotFoundError`, so a package's pure-Python fallback still works.
#[test]
fn a_cpython_c_extension_is_named_in_one_line() {
    let dir = TempDir::new("c-extension");
    let packages = dir.join("packages");
    std::fs::create_dir_all(packages.join("fastpkg")).unwrap();
    std::fs::write(
        packages.join("ujsonish.cpython-311-x86_64-linux-gnu.so"),
        b"",
    )
    .unwrap();
    std::fs::write(packages.join("fastpkg/_speedups.abi3.so"), b"").unwrap();
    std::fs::write(
        packages.join("fastpkg/__init__.py"),
        "try:\n    from ._speedups import escape\nexcept ImportError:\n    escape = 'pure'\n",
    )
    .unwrap();
    let ran = run(rpprof().env("PYTHONPATH", &packages).args([
        "-c",
        "import fastpkg; print(fastpkg.escape)\nimport ujsonish",
    ]));
    ran.expect_code(1);
    assert_eq!(ran.stdout, "pure\n");
    let last = ran.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("ModuleNotFoundError: ujsonish is a C extension built for CPython (")
            && last.contains("ujsonish.cpython-311-x86_64-linux-gnu.so")
            && last.ends_with("rpprof runs pure-Python packages only"),
        "{}",
        ran.stderr
    );
}

/// A venv whose `bin/python` is a link to rpprof: its packages are found with no
/// activation, as a venv's `python` finds them.
#[test]
fn a_venv_whose_python_is_rpprof_finds_its_packages() {
    let dir = TempDir::new("venv-link");
    let venv = make_venv(&dir);
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    let python = venv.join("bin/python");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rpprof"), &python).unwrap();
    let ran = run(std::process::Command::new(&python)
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .args([
            "-c",
            "import installed_pkg, editable_mod; print(installed_pkg.NAME)",
        ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "installed\n", "{}", ran.stderr);
}
