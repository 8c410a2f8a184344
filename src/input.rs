//! Reading profiles back in: pprof (gzipped or not, ours or any other tool's) and folded
//! stacks, told apart by their content rather than their name.

use std::path::Path;

use anyhow::{bail, Context};
use flamegraph::{folded, pprof, Profile, ProfileMeta};

/// Reads one profile file.
pub fn read_profile(path: &Path) -> anyhow::Result<Profile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    parse_profile(&bytes).with_context(|| format!("cannot read '{}'", path.display()))
}

/// Parses a profile from its bytes: gzip or binary means pprof, text means folded stacks.
pub fn parse_profile(bytes: &[u8]) -> anyhow::Result<Profile> {
    if bytes.is_empty() {
        bail!("the file is empty");
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(pprof::parse(bytes)?);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(folded::parse(text.as_bytes(), ProfileMeta::default())?),
        Err(_) => Ok(pprof::parse(bytes)?),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_the_format() {
        let folded = parse_profile(b"main (a.py:1);f (a.py:2) 3\n").unwrap();
        assert_eq!(folded.total().samples, 3);
        let mut pb = Vec::new();
        flamegraph::pprof::write(&folded, &mut pb).unwrap();
        assert_eq!(parse_profile(&pb).unwrap().total().samples, 3);
        assert!(parse_profile(b"").is_err());
        assert!(parse_profile(b"not a profile\n").is_err());
        assert!(parse_profile(&[0xff, 0xfe, 0x00, 0x01]).is_err());
    }
}
