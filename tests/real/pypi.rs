//! Packages from PyPI for the real-program tests, fetched by the test set-up (never kept in
//! the repository) and cached under the target directory (`target/pypi-cache`).
//!
//! Wheels are fetched with the system CPython's pip, pure-Python only
//! (`pip download --only-binary=:all: --no-deps --platform any --implementation py`), and
//! unpacked into one directory per distribution, which goes on `PYTHONPATH`. Source
//! distributions (for a project's own test suite, which wheels leave out) are fetched by
//! the same pip (`--no-binary=:all:`) and unpacked with Python's `tarfile`. When `python3`, its pip or the network is
//! missing, a test says so in one line and passes without running.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Fetches run one at a time: two tests may want the same distribution.
static FETCHING: Mutex<()> = Mutex::new(());

/// Where fetched distributions are kept between runs.
pub fn cache() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("pypi-cache")
}

/// Prints the one line a skipped test leaves.
pub fn skip(test: &str, why: &str) {
    eprintln!("skipped {test}: {why}");
}

fn python3_output(args: &[&str]) -> Result<std::process::Output, String> {
    Command::new("python3")
        .args(args)
        .output()
        .map_err(|e| format!("no python3 ({e})"))
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// The pure-Python wheel of `requirement` (`name==version`), unpacked; its directory goes
/// on `PYTHONPATH`. Err says in a line why it could not be had.
pub fn wheel(requirement: &str) -> Result<PathBuf, String> {
    let key = requirement.replace(['=', '<', '>', ',', ' '], "_");
    let unpacked = cache().join("site").join(&key);
    let _one_at_a_time = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
    if unpacked.is_dir() {
        return Ok(unpacked);
    }
    let pip = python3_output(&["-m", "pip", "--version"])?;
    if !pip.status.success() {
        return Err("python3 has no pip".into());
    }
    let wheel = download(
        requirement,
        &cache().join("wheels").join(&key),
        &[
            "--only-binary=:all:",
            "--platform",
            "any",
            "--implementation",
            "py",
            "--python-version",
            "3.11",
        ],
        ".whl",
    )?;
    unpack(&["-m", "zipfile", "-e"], &wheel, &unpacked)?;
    Ok(unpacked)
}

/// The source distribution of `requirement` (`name==version`), unpacked: the directory
/// that holds its `pyproject.toml` (and its own tests, which wheels leave out).
pub fn sdist(requirement: &str) -> Result<PathBuf, String> {
    let key = requirement.replace(['=', '<', '>', ',', ' '], "_");
    let unpacked = cache().join("sdist").join(&key);
    let _one_at_a_time = FETCHING.lock().unwrap_or_else(|e| e.into_inner());
    if !unpacked.is_dir() {
        let archive = download(
            requirement,
            &cache().join("sdists").join(&key),
            &["--no-binary=:all:"],
            ".tar.gz",
        )?;
        unpack(&["-m", "tarfile", "-e"], &archive, &unpacked)?;
    }
    // The archive holds one top directory, NAME-VERSION (its spelling varies).
    std::fs::read_dir(&unpacked)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
        .ok_or_else(|| format!("the {requirement} sdist holds no directory"))
}

/// Fetches `requirement` alone (no dependencies) from PyPI with `python3 -m pip download
/// OPTIONS` into `dir`, and returns the file it left whose name ends in `ending`.
fn download(
    requirement: &str,
    dir: &Path,
    options: &[&str],
    ending: &str,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut args = vec![
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
    ];
    args.extend_from_slice(options);
    args.extend(["-d", dir.to_str().unwrap(), requirement]);
    let got = python3_output(&args)?;
    if !got.status.success() {
        return Err(format!(
            "cannot fetch {requirement} ({ending}) from PyPI (offline?): {}",
            last_line(&got.stderr)
        ));
    }
    std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(ending))
        .ok_or_else(|| format!("pip left no {ending} for {requirement}"))
}

/// Unpacks `archive` with `python3 ARGS archive DIR` into a fresh directory, then renames
/// it into place, so an interrupted run leaves no half-unpacked cache entry.
fn unpack(args: &[&str], archive: &Path, into: &Path) -> Result<(), String> {
    let partial = into.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    let mut all: Vec<&str> = args.to_vec();
    all.push(archive.to_str().unwrap());
    all.push(partial.to_str().unwrap());
    let done = python3_output(&all)?;
    if !done.status.success() {
        return Err(format!(
            "cannot unpack {}: {}",
            archive.display(),
            last_line(&done.stderr)
        ));
    }
    std::fs::rename(&partial, into).map_err(|e| e.to_string())
}

/// A `PYTHONPATH` value made of `dirs`.
pub fn python_path(dirs: &[PathBuf]) -> std::ffi::OsString {
    std::env::join_paths(dirs).unwrap()
}

/// The wheels of every requirement, or the line saying why not.
pub fn wheels(requirements: &[&str]) -> Result<Vec<PathBuf>, String> {
    requirements.iter().map(|r| wheel(r)).collect()
}
