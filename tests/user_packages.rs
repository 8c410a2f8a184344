//! The user's packages reach the program: an activated virtual environment's
//! site-packages, with its `.pth` files (editable installs), unless `-I` or `-E` says to
//! ignore the environment.

mod common;

use std::path::Path;

use common::{rpprof, run, Ran, TempDir};

/// Puts into `site` (a site-packages directory) an installed package `package.0` whose
/// `NAME` is `package.1`, and an editable install: module `editable` (`NAME = 'editable'`)
/// in `source`, named by a `.pth` file as pip's editable installs do.
fn install(site: &Path, package: (&str, &str), source: &Path, editable: &str) {
    let (name, value) = package;
    std::fs::create_dir_all(site.join(name)).unwrap();
    std::fs::write(
        site.join(name).join("__init__.py"),
        format!("NAME = '{value}'\n"),
    )
    .unwrap();
    std::fs::create_dir_all(source).unwrap();
    std::fs::write(source.join(format!("{editable}.py")), "NAME = 'editable'\n").unwrap();
    std::fs::write(
        site.join(format!("__editable__.{editable}.pth")),
        format!("{}\n", source.display()),
    )
    .unwrap();
}

/// A virtual environment as `python3 -m venv` lays it out, with one installed package and
/// one editable install (a `.pth` file naming a source directory elsewhere).
fn make_venv(dir: &TempDir) -> std::path::PathBuf {
    let venv = dir.join("venv");
    let site = venv.join("lib/python3.11/site-packages");
    install(
        &site,
        ("installed_pkg", "installed"),
        &dir.join("src"),
        "editable_mod",
    );
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

/// A venv made by the system's `python3 -m venv` (no pip), with one installed package and
/// one editable install; `None` (and a line saying so) when there is no `python3`.
fn cpython_venv(dir: &TempDir) -> Option<std::path::PathBuf> {
    let venv = dir.join("cpython-venv");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .env_remove("VIRTUAL_ENV")
        .output();
    if !made.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no python3 that can make a venv (`python3 -m venv`)");
        return None;
    }
    let site = std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .expect("the venv has a site-packages");
    install(
        &site,
        ("cpython_pkg", "cpython"),
        &dir.join("editable-src"),
        "cpython_editable",
    );
    Some(venv)
}

/// `--python PATH` adds that interpreter's site-packages and what its `.pth` files add,
/// after rpprof's standard library; it wins over `VIRTUAL_ENV`; children started through
/// `sys.executable` inherit it (through `RPPROF_PYTHON`), and `record` takes it too.
#[test]
fn python_option_takes_that_interpreters_packages() {
    let dir = TempDir::new("python-option");
    let Some(venv) = cpython_venv(&dir) else {
        return;
    };
    let other = make_venv(&dir);
    let python = venv.join("bin/python3");
    let script = dir.write(
        "uses_cpython_packages.py",
        "import sys, subprocess, cpython_pkg, cpython_editable\n\
         print(cpython_pkg.NAME, cpython_editable.NAME)\n\
         try:\n    import installed_pkg\nexcept ImportError:\n    print('no VIRTUAL_ENV package')\n\
         stdlib = [i for i, p in enumerate(sys.path) if p.endswith('python3.14')]\n\
         site = [i for i, p in enumerate(sys.path) if p.endswith('site-packages')]\n\
         print('after stdlib', bool(stdlib) and bool(site) and max(stdlib) < min(site))\n\
         sys.stdout.flush()\n\
         subprocess.run([sys.executable, '-c', 'import cpython_pkg; print(\"child\", cpython_pkg.NAME)'], check=True)\n",
    );
    let ran = run(rpprof()
        .env("VIRTUAL_ENV", &other)
        .env_remove("RPPROF_PYTHON")
        .arg("--python")
        .arg(&python)
        .arg(&script));
    ran.expect_code(0);
    assert_eq!(
        ran.stdout, "cpython editable\nno VIRTUAL_ENV package\nafter stdlib True\nchild cpython\n",
        "{}",
        ran.stderr
    );

    let ran = run(rpprof()
        .env_remove("VIRTUAL_ENV")
        .env_remove("RPPROF_PYTHON")
        .arg("record")
        .arg("-o")
        .arg(dir.join("out.folded"))
        .arg("--python")
        .arg(&python)
        .args(["-c", "import cpython_pkg; print(cpython_pkg.NAME)"]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "cpython\n", "{}", ran.stderr);
}

/// `--python auto` (and `RPPROF_PYTHON=auto`) is the `python3` first on `PATH`.
#[test]
fn python_auto_is_the_first_python3_on_path() {
    let dir = TempDir::new("python-auto");
    let Some(venv) = cpython_venv(&dir) else {
        return;
    };
    let path = std::env::join_paths(std::iter::once(venv.join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let code = "import os, cpython_pkg; print(cpython_pkg.NAME, os.path.basename(os.environ['RPPROF_PYTHON']))";
    for (flag, env) in [(Some("auto"), None), (None, Some("auto"))] {
        let mut command = rpprof();
        command.env("PATH", &path).env_remove("VIRTUAL_ENV");
        match env {
            Some(value) => command.env("RPPROF_PYTHON", value),
            None => command.env_remove("RPPROF_PYTHON"),
        };
        if let Some(flag) = flag {
            command.args(["--python", flag]);
        }
        let ran = run(command.args(["-c", code]));
        ran.expect_code(0);
        assert_eq!(ran.stdout, "cpython python3\n", "{}", ran.stderr);
    }
}

/// A `--python` that names no Python: one line saying which and why, status 2, for the
/// Python command line and for `record` alike.
#[test]
fn a_bad_python_option_is_one_line_and_status_2() {
    let dir = TempDir::new("python-bad");
    let not_python = dir.write("not-python", "#!/bin/sh\necho hello\n");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&not_python, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let missing = dir.join("no-such-python");
    let out = dir.join("out.folded");
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["--python".into(), missing.clone().into()],
            "no such file",
        ),
        (
            vec!["--python".into(), not_python.clone().into()],
            "not a Python interpreter?",
        ),
        (
            vec![
                "record".into(),
                "-o".into(),
                out.into(),
                "--python".into(),
                missing.into(),
            ],
            "no such file",
        ),
        (
            vec!["run".into(), "--python".into(), not_python.into()],
            "not a Python interpreter?",
        ),
    ];
    for (args, why) in cases {
        let ran = run(rpprof()
            .env_remove("RPPROF_PYTHON")
            .args(&args)
            .args(["-c", "print('ran')"]));
        ran.expect_code(2);
        assert_eq!(ran.stdout, "", "{args:?}");
        assert_eq!(ran.stderr.lines().count(), 1, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.starts_with("rpprof: --python ") && ran.stderr.contains(why),
            "{args:?}: {}",
            ran.stderr
        );
    }
}

/// A wheel of one pure-Python module, written by hand (a wheel is a zip with a
/// `.dist-info`), so installing needs no network.
fn make_wheel(dir: &TempDir) -> std::path::PathBuf {
    let wheels = dir.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let made = std::process::Command::new("python3")
        .current_dir(&wheels)
        .args([
            "-c",
            "import zipfile\n\
             files = {'tinypkg.py': 'NAME = \"tiny\"\\n',\n\
             'tinypkg-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: tinypkg\\nVersion: 1.0\\n',\n\
             'tinypkg-1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}\n\
             files['tinypkg-1.0.dist-info/RECORD'] = ''.join(f'{n},,\\n' for n in files) + 'tinypkg-1.0.dist-info/RECORD,,\\n'\n\
             z = zipfile.ZipFile('tinypkg-1.0-py3-none-any.whl', 'w')\n\
             [z.writestr(name, text) for name, text in files.items()]\n\
             z.close()\n",
        ])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    wheels
}

/// `rpprof -m venv DIR` makes a venv whose `bin/python` is rpprof, with pip (ensurepip
/// takes the pip wheel of the `python3` on PATH, as rpprof's frozen standard library has
/// none); its pip installs a pure-Python package that the venv's python, and rpprof with
/// the venv activated, then import.
#[test]
fn rpprof_makes_a_venv_with_pip_that_installs_packages() {
    let dir = TempDir::new("rpprof-venv");
    let has_pip_wheel = std::process::Command::new("python3")
        .args([
            "-c",
            "import ensurepip, glob, os, sys; sys.exit(not glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl')))",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pip_wheel {
        eprintln!("skipped: no python3 with ensurepip's pip wheel on PATH");
        return;
    }
    let wheels = make_wheel(&dir);
    let venv = dir.join("rp-venv");
    let ran = run(rpprof()
        .env_remove("RPPROF_PYTHON")
        .env_remove("VIRTUAL_ENV")
        .args(["-W", "ignore", "-m", "venv"])
        .arg(&venv));
    ran.expect_code(0);
    let python = venv.join("bin/python");
    assert_eq!(
        std::fs::canonicalize(&python).unwrap(),
        std::fs::canonicalize(env!("CARGO_BIN_EXE_rpprof")).unwrap()
    );
    let ran = pip_install_tinypkg(
        std::process::Command::new(&python)
            .env_remove("RPPROF_PYTHON")
            .env_remove("VIRTUAL_ENV"),
        &wheels,
    );
    ran.expect_code(0);
    assert!(
        ran.stdout.contains("Successfully installed tinypkg-1.0"),
        "{}\n{}",
        ran.stdout,
        ran.stderr
    );
    let code = "import tinypkg; print(tinypkg.NAME)";
    let ran = run(std::process::Command::new(&python)
        .env_remove("VIRTUAL_ENV")
        .args(["-c", code]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "tiny\n", "{}", ran.stderr);
    let ran = run(rpprof()
        .env_remove("RPPROF_PYTHON")
        .env("VIRTUAL_ENV", &venv)
        .args(["-c", code]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "tiny\n", "{}", ran.stderr);

    // Activated, `rpprof -m pip` (not the venv's python) installs into the venv too.
    let ran = run(rpprof()
        .env_remove("RPPROF_PYTHON")
        .env("VIRTUAL_ENV", &venv)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .args(["-W", "ignore", "-m", "pip", "uninstall", "-y", "tinypkg"]));
    ran.expect_code(0);
    let ran = pip_install_tinypkg(
        rpprof()
            .env_remove("RPPROF_PYTHON")
            .env("VIRTUAL_ENV", &venv),
        &wheels,
    );
    ran.expect_code(0);
    let ran = run(std::process::Command::new(&python)
        .env_remove("VIRTUAL_ENV")
        .args([
            "-c",
            "import tinypkg, sys; print(tinypkg.__file__.startswith(sys.prefix))",
        ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "True\n", "{}", ran.stderr);
}

/// `COMMAND -m pip install tinypkg` from the wheels in `wheels` only (no index, no pip
/// configuration, no version check).
fn pip_install_tinypkg(command: &mut std::process::Command, wheels: &Path) -> Ran {
    run(command
        .env_remove("PIP_CONFIG_FILE")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .args([
            "-W",
            "ignore",
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
        ])
        .arg(wheels)
        .arg("tinypkg"))
}

/// `-m ensurepip` with no CPython to take a pip wheel from, and `-m pip` with no pip: one
/// line saying what is missing and what to do, status 1.
#[test]
fn ensurepip_without_a_pip_wheel_says_why_in_one_line() {
    let dir = TempDir::new("ensurepip-none");
    let ran = run(rpprof()
        .env_remove("RPPROF_PYTHON")
        .env("PATH", dir.path())
        .args(["-m", "ensurepip"]));
    ran.expect_code(1);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("ensurepip needs a pip wheel") && ran.stderr.contains("--python PATH"),
        "{}",
        ran.stderr
    );
    // And `-m pip` with no pip: where one comes from, in one line.
    let ran = run(rpprof()
        .env_remove("RPPROF_PYTHON")
        .env_remove("VIRTUAL_ENV")
        .args(["-m", "pip", "install", "six"]));
    ran.expect_code(1);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("No module named pip") && ran.stderr.contains("rpprof -m venv"),
        "{}",
        ran.stderr
    );
}
