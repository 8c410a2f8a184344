//! The user's packages: where rpprof finds what the program imports beyond the standard
//! library, besides `PYTHONPATH` and the script's directory.
//!
//! A virtual environment's `lib/python3.*/site-packages` directories join `sys.path` the
//! way CPython's `site` adds a venv's (`site.addsitedir`: after the standard library, with
//! their `.pth` files, so editable installs work too), for two venvs:
//! - the activated one (`VIRTUAL_ENV`, set by `bin/activate`): CPython finds a venv from
//!   the `python` it runs, which under rpprof is rpprof; `VIRTUAL_ENV` says which one the
//!   user is in;
//! - the one rpprof runs from, through a `python` link in its `bin/` (`site` then sets
//!   `sys.prefix` to it from its `pyvenv.cfg`, but looks for the interpreter's own Python
//!   version's site-packages, not the one the venv was made with).
//!
//! An activated venv that rpprof does not run from becomes `sys.prefix` (and
//! `sys.exec_prefix`), as under the venv's own `python`: `rpprof -m pip install` then
//! installs into it, not into rpprof's installation.
//!
//! `--python PATH` (or `RPPROF_PYTHON`, see [`choose_python`]) names the environment
//! outright and wins over both venvs: its site directories only.
//!
//! `VIRTUAL_ENV` is ignored under `-E` and `-I`, as the `PYTHON*` variables are; both are
//! under `-S` (no `site`, no site-packages).

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustpython_vm::{PyResult, VirtualMachine};

/// The environment variable `bin/activate` sets.
const VIRTUAL_ENV: &str = "VIRTUAL_ENV";

/// Adds the site directories of the interpreter `--python` chose, or else the activated
/// virtual environment's site-packages and those of the one rpprof runs from, to
/// `sys.path`. Call it before the program runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let settings = &vm.state.config.settings;
    if !settings.import_site {
        return Ok(());
    }
    if let Some(chosen) = CHOSEN.get() {
        // `--python` (or `RPPROF_PYTHON`) names the environment outright: its packages
        // only, not a second environment's versions of the same packages.
        return add_site_dirs(vm, chosen.iter().cloned());
    }
    let activated = std::env::var_os(VIRTUAL_ENV)
        .filter(|v| !v.is_empty() && !settings.ignore_environment)
        .map(PathBuf::from);
    let running_from = vm
        .sys_module
        .get_attr("prefix", vm)
        .ok()
        .and_then(|prefix| prefix.try_to_value::<String>(vm).ok())
        .map(PathBuf::from)
        .filter(|prefix| prefix.join("pyvenv.cfg").is_file());
    if let (Some(venv), None) = (&activated, &running_from) {
        // As the venv's own `python` would: `sys.prefix` is the venv, so what installs by
        // `sys.prefix` (`rpprof -m pip install` in an activated venv) installs into it.
        if venv.join("pyvenv.cfg").is_file() {
            let prefix = vm.new_pyobj(venv.to_string_lossy().into_owned());
            vm.sys_module.set_attr("prefix", prefix.clone(), vm)?;
            vm.sys_module.set_attr("exec_prefix", prefix, vm)?;
        }
    }
    // Each real directory once: lib64 is often a link to lib, and both venvs may be one.
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut directories: Vec<PathBuf> = Vec::new();
    for venv in activated.iter().chain(running_from.iter()) {
        for directory in site_packages(venv) {
            let real = directory
                .canonicalize()
                .unwrap_or_else(|_| directory.clone());
            if !seen.contains(&real) {
                seen.push(real);
                directories.push(directory);
            }
        }
    }
    add_site_dirs(vm, directories.into_iter())
}

/// `site.addsitedir` for each directory: appended to `sys.path` after the standard
/// library, its `.pth` files run.
fn add_site_dirs(vm: &VirtualMachine, directories: impl Iterator<Item = PathBuf>) -> PyResult<()> {
    let mut directories = directories.peekable();
    if directories.peek().is_none() {
        return Ok(());
    }
    let add = vm.import("site", 0)?.get_attr("addsitedir", vm)?;
    for directory in directories {
        add.call((directory.to_string_lossy().into_owned(),), vm)?;
    }
    Ok(())
}

/// `VENV/lib/python3.*/site-packages` and `VENV/lib64/python3.*/site-packages`, and
/// `rustpython3.*` in their place, where pip run by rpprof installs (RustPython's
/// `sysconfig` scheme).
fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(entries) = std::fs::read_dir(venv.join(lib)) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_python = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("python3") || n.starts_with("rustpython3"));
            let directory = entry.path().join("site-packages");
            if is_python && directory.is_dir() {
                found.push(directory);
            }
        }
    }
    found
}

/// The environment variable that names the CPython interpreter whose packages the program
/// also sees (`--python PATH` sets it, so children started through `sys.executable`
/// inherit the choice).
pub const PYTHON_VAR: &str = "RPPROF_PYTHON";

/// `--python auto`: the `python3` first on `PATH`.
pub const AUTO: &str = "auto";

/// How long the chosen interpreter may take to say where its packages are.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the chosen interpreter prints: its site directories that exist (site-packages,
/// dist-packages, the user's), in the order its `site` adds them. Their `.pth` files
/// (editable installs among them) are run again here by `site.addsitedir`, so what they
/// add to `sys.path` is added here too.
const PROBE: &str = "import json, site, os\n\
dirs = list(site.getsitepackages()) if hasattr(site, 'getsitepackages') else []\n\
if site.ENABLE_USER_SITE:\n    dirs.append(site.getusersitepackages())\n\
print(json.dumps({'sitedirs': [d for d in dirs if os.path.isdir(d)]}))\n";

/// The site directories of the interpreter `--python` or `RPPROF_PYTHON` chose, once
/// [`choose_python`] asked it.
static CHOSEN: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Asks the CPython interpreter named by `flag` (`--python PATH`), or else by
/// `RPPROF_PYTHON`, where its packages are, for [`install`] to add them. `auto` names the
/// `python3` first on `PATH`. Sets `RPPROF_PYTHON` to the interpreter's path, so children
/// started through `sys.executable` see the same packages: call it while no other thread
/// runs, before the interpreter copies the environment. Nothing named: nothing to do. The
/// error is one line for the user.
pub fn choose_python(flag: Option<&OsStr>) -> Result<(), String> {
    if CHOSEN.get().is_some() {
        return Ok(());
    }
    let from_env = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty());
    let (named, source) = match (flag, &from_env) {
        (Some(flag), _) => (flag.to_owned(), "--python"),
        (None, Some(value)) => (value.clone(), PYTHON_VAR),
        (None, None) => return Ok(()),
    };
    let path =
        resolve(&named).map_err(|why| format!("{source} {}: {why}", named.to_string_lossy()))?;
    let dirs = probe(&path).map_err(|why| format!("{source} {}: {why}", path.display()))?;
    // SAFETY (of the environment): the caller runs this before any other thread starts.
    std::env::set_var(PYTHON_VAR, &path);
    let _ = CHOSEN.set(dirs);
    Ok(())
}

/// The interpreter `named` stands for: `auto` is the `python3` first on `PATH`; a name
/// without a slash is looked up on `PATH` as a shell would; a path is taken as it is. It
/// must be a runnable file and not rpprof itself.
fn resolve(named: &OsStr) -> Result<PathBuf, String> {
    let lookup = |name: &OsStr| -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    };
    let path = if named == AUTO {
        lookup(OsStr::new("python3")).ok_or("no python3 on PATH")?
    } else if !named.as_bytes().contains(&b'/') {
        lookup(named).ok_or("not found on PATH")?
    } else {
        // Absolute, for children started elsewhere; links kept: a venv's `bin/python` is
        // a link, and resolving it would lose the venv.
        std::path::absolute(named).unwrap_or_else(|_| PathBuf::from(named))
    };
    if !path.exists() {
        return Err("no such file".to_owned());
    }
    if !is_executable(&path) {
        return Err("not an executable file".to_owned());
    }
    let itself = std::env::current_exe().and_then(|exe| exe.canonicalize());
    if let (Ok(itself), Ok(real)) = (itself, path.canonicalize()) {
        if itself == real {
            return Err(format!(
                "{} is rpprof itself; name a CPython interpreter",
                path.display()
            ));
        }
    }
    Ok(path)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `python -c PROBE` with a bounded wait and reads its site directories.
fn probe(python: &Path) -> Result<Vec<PathBuf>, String> {
    let stdout = ask(python, PROBE)?;
    let answer: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .ok_or(NOT_PYTHON)?;
    let dirs = answer
        .get("sitedirs")
        .and_then(|d| d.as_array())
        .ok_or(NOT_PYTHON)?;
    Ok(dirs
        .iter()
        .filter_map(|d| d.as_str())
        .map(PathBuf::from)
        .collect())
}

/// What [`probe`] says of a program that answered, but not as a Python would.
const NOT_PYTHON: &str =
    "not a Python interpreter? asked where its packages are (`-c 'import site ...'`), it printed no list of its packages";

/// Runs `python -c CODE` with a bounded wait and returns what it printed.
fn ask(python: &Path, code: &str) -> Result<String, String> {
    let mut child = Command::new(python)
        .args(["-c", code])
        .env_remove(PYTHON_VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot run it: {err}"))?;
    // The answer is a few hundred bytes: it fits the pipe, so waiting before reading
    // cannot block the child.
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < PROBE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "no answer in {} s to `-c 'import site ...'`; is it a Python interpreter?",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Err(err) => return Err(format!("cannot wait for it: {err}")),
        }
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    if !status.success() {
        let ended = match status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_owned(),
        };
        let said = stderr.lines().rev().find(|l| !l.trim().is_empty());
        let said = said.map(|l| format!(": {}", l.trim())).unwrap_or_default();
        return Err(format!("not a Python interpreter? asked where its packages are (`-c 'import site ...'`), it {ended}{said}"));
    }
    Ok(stdout)
}

/// What the interpreter asked for a pip wheel prints: the first directory holding one,
/// among its `ensurepip/_bundled`, its `WHEEL_PKG_DIR` and the distributions' shared one.
const FIND_PIP_WHEEL: &str = "import glob, os, sysconfig\n\
dirs = [sysconfig.get_config_var('WHEEL_PKG_DIR') or '', '/usr/share/python-wheels']\n\
try:\n    import ensurepip\n    dirs.insert(0, os.path.join(os.path.dirname(ensurepip.__file__), '_bundled'))\n\
except Exception:\n    pass\n\
print(next((d for d in dirs if d and glob.glob(os.path.join(d, 'pip-*.whl'))), ''))\n";

/// Before `-m ensurepip` runs: rpprof's standard library is frozen into the binary, which
/// holds its modules but not `ensurepip/_bundled/pip-*.whl`, so `ensurepip` would fail
/// (`Can't open orphan path`). Unless `WHEEL_PKG_DIR` already names a directory, it is set
/// to where a CPython keeps its pip wheel: the one `--python` chose, else the `python3` on
/// `PATH`. None found: one line saying so, and status 1.
pub fn provide_pip_wheel(vm: &VirtualMachine) -> PyResult<()> {
    let sysconfig = vm.import("sysconfig", 0)?;
    let vars = sysconfig.get_attr("get_config_vars", vm)?.call((), vm)?;
    if vars
        .get_item("WHEEL_PKG_DIR", vm)
        .is_ok_and(|v| v.try_to_bool(vm).unwrap_or(false))
    {
        return Ok(());
    }
    let from_env = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty());
    let asked = match &from_env {
        Some(named) => format!("{PYTHON_VAR} {}", named.to_string_lossy()),
        None => "the python3 on PATH".to_owned(),
    };
    let named = from_env.unwrap_or_else(|| AUTO.into());
    let found = resolve(&named)
        .and_then(|python| ask(&python, FIND_PIP_WHEEL))
        .map(|out| out.trim().to_owned());
    match found {
        Ok(dir) if !dir.is_empty() => vars.set_item("WHEEL_PKG_DIR", vm.new_pyobj(dir), vm),
        found => {
            let why = match found {
                Err(why) => format!(" ({asked}: {why})"),
                Ok(_) => String::new(),
            };
            Err(vm.new_exception_msg(
                vm.ctx.exceptions.system_exit.to_owned(),
                format!(
                    "rpprof: ensurepip needs a pip wheel, which rpprof's frozen standard library \
                     does not hold, and found none in a CPython's ensurepip or WHEEL_PKG_DIR{why}; \
                     name a CPython that has one with --python PATH"
                )
                .into(),
            ))
        }
    }
}

/// Before `-m pip`: with no pip to import (rpprof ships none), one line saying where a pip
/// for rpprof comes from, instead of `No module named pip`; status 1 as before.
pub fn explain_missing_pip(vm: &VirtualMachine) -> PyResult<()> {
    let spec = vm
        .import("importlib.util", 0)?
        .get_attr("util", vm)?
        .get_attr("find_spec", vm)?
        .call(("pip",), vm)?;
    if !vm.is_none(&spec) {
        return Ok(());
    }
    Err(vm.new_exception_msg(
        vm.ctx.exceptions.system_exit.to_owned(),
        "rpprof: No module named pip: rpprof ships none; make a venv with pip with \
         `rpprof -m venv DIR` and run `DIR/bin/python -m pip` (or activate it first)"
            .to_owned()
            .into(),
    ))
}
