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
//! `VIRTUAL_ENV` is ignored under `-E` and `-I`, as the `PYTHON*` variables are; both are
//! under `-S` (no `site`, no site-packages).

use std::path::{Path, PathBuf};

use rustpython_vm::{PyResult, VirtualMachine};

/// The environment variable `bin/activate` sets.
const VIRTUAL_ENV: &str = "VIRTUAL_ENV";

/// Adds the activated virtual environment's site-packages, and those of the one rpprof
/// runs from, to `sys.path`. Call it before the program runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let settings = &vm.state.config.settings;
    if !settings.import_site {
        return Ok(());
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
    if directories.is_empty() {
        return Ok(());
    }
    let add = vm.import("site", 0)?.get_attr("addsitedir", vm)?;
    for directory in directories {
        add.call((directory.to_string_lossy().into_owned(),), vm)?;
    }
    Ok(())
}

/// `VENV/lib/python3.*/site-packages` and `VENV/lib64/python3.*/site-packages`.
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
                .is_some_and(|n| n.starts_with("python3"));
            let directory = entry.path().join("site-packages");
            if is_python && directory.is_dir() {
                found.push(directory);
            }
        }
    }
    found
}
