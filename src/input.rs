//! Reading profiles back in: any format of the format table that has a reader (pprof,
//! gzipped or not, ours or any other tool's, and folded stacks), told apart by content
//! rather than name; merged, and narrowed to the threads asked for.

use std::path::Path;

use anyhow::{bail, Context};
use flamegraph::format::parse_any;
use flamegraph::groups::{group_key, group_of, AUTO_MIN_GROUP};
use flamegraph::{Profile, ThreadProfile};

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

/// Keeps only the threads named in `names` (all of them when `names` is empty): a thread's
/// own name, or its group's (`Thread-N (process_request_thread)`, as grouped views show
/// it). A name that matches no thread is an error that lists the names there are (groups
/// of five or more as their group, at most [`MAX_NAMES_LISTED`]).
pub fn keep_threads(profile: &mut Profile, names: &[String]) -> anyhow::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let named = |t: &ThreadProfile, name: &str| t.name == name || group_of(&t.name) == name;
    for name in names {
        if !profile.threads.iter().any(|t| named(t, name)) {
            bail!(
                "no thread named '{name}' (threads: {})",
                known_names(profile)
            );
        }
    }
    profile.retain_threads(|t| names.iter().any(|name| named(t, name)));
    Ok(())
}

/// The most thread names an error lists.
pub const MAX_NAMES_LISTED: usize = 20;

/// The profile's thread names, sorted, a big group's as its group, cut after
/// [`MAX_NAMES_LISTED`].
fn known_names(profile: &Profile) -> String {
    let sizes = profile.group_sizes();
    let mut known: Vec<String> = profile
        .threads
        .iter()
        .map(|thread| {
            let key = group_key(thread);
            if sizes[&key] >= AUTO_MIN_GROUP {
                key.1
            } else {
                thread.name.clone()
            }
        })
        .collect();
    known.sort();
    known.dedup();
    let more = known.len().saturating_sub(MAX_NAMES_LISTED);
    known.truncate(MAX_NAMES_LISTED);
    let mut text = known.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}
