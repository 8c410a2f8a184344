//! The user's packages: where rpprof finds what the program imports beyond the standard
//! library, besides `PYTHONPATH` and the script's directory.
//!
//! An activated virtual environment (`VIRTUAL_ENV`, set by `bin/activate`): its
//! `lib/python3.*/site-packages` directories join `sys.path` the way CPython's `site`
//! adds a venv's (`site.addsitedir`: after the standard library, with their `.pth` files,
//! so editable installs work too). CPython itself finds a venv from the `python` it runs,
//! which under rpprof is rpprof; `VIRTUAL_ENV` is what says which one the user is in.
//! Ignored under `-E` and `-I`, as the `PYTHON*` variables are, and under `-S` (no `site`,
//! no site-packages).

use std::path::{Path, PathBuf};

use rustpython_vm::{PyResult, VirtualMachine};

/// The environment variable `bin/activate` sets.
const VIRTUAL_ENV: &str = "VIRTUAL_ENV";

/// Adds the active virtual environment's site-packages to `sys.path`. Call it before the
/// program runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let settings = &vm.state.config.settings;
    if settings.ignore_environment || !settings.import_site {
        return Ok(());
    }
    let Some(venv) = std::env::var_os(VIRTUAL_ENV).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let directories = site_packages(Path::new(&venv));
    if directories.is_empty() {
        return Ok(());
    }
    let site = vm.import("site", 0)?;
    let add = site.get_attr("addsitedir", vm)?;
    for directory in directories {
        add.call((directory.to_string_lossy().into_owned(),), vm)?;
    }
    Ok(())
}

/// `VENV/lib/python3.*/site-packages` (and `lib64`), each real directory once.
fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(entries) = std::fs::read_dir(venv.join(lib)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let is_python = name.to_str().is_some_and(|n| n.starts_with("python3"));
            let directory = entry.path().join("site-packages");
            if is_python && directory.is_dir() && !found.contains(&directory) {
                found.push(directory);
            }
        }
    }
    // lib64 is often a link to lib.
    let real = |d: &PathBuf| d.canonicalize().unwrap_or_else(|_| d.clone());
    found.sort_by_key(real);
    found.dedup_by_key(|d| real(d));
    found
}
