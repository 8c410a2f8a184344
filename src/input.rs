//! Reading profiles back in: any format of the format table that has a reader (pprof,
//! gzipped or not, ours or any other tool's, and folded stacks), told apart by content
//! rather than name; merged, and narrowed to the threads asked for.

use std::path::Path;

use anyhow::{bail, Context};
use flamegraph::format::parse_any;
use flamegraph::Profile;

/// Reads one profile file.
pub fn read_profile(path: &Path) -> anyhow::Result<Profile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    parse_any(&bytes).with_context(|| format!("cannot read '{}'", path.display()))
}

/// Reads and merges several profiles; the title is the first file's name.
pub fn read_merged(paths: &[impl AsRef<Path>]) -> anyhow::Result<Profile> {
    let mut merged: Option<Profile> = None;
    for path in paths {
        let path = path.as_ref();
        let mut profile = read_profile(path)?;
        if profile.meta.title.is_empty() {
            profile.meta.title = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        match merged.as_mut() {
            Some(all) => all.merge(&profile),
            None => merged = Some(profile),
        }
    }
    merged.context("no input profiles")
}

/// Keeps only the threads named in `names` (all of them when `names` is empty). A name that
/// matches no thread is an error that lists the names there are.
pub fn keep_threads(profile: &mut Profile, names: &[String]) -> anyhow::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    for name in names {
        if !profile.threads.iter().any(|t| &t.name == name) {
            let mut known: Vec<&str> = profile.threads.iter().map(|t| t.name.as_str()).collect();
            known.sort();
            known.dedup();
            bail!("no thread named '{name}' (threads: {})", known.join(", "));
        }
    }
    profile.retain_threads(|t| names.contains(&t.name));
    Ok(())
}
