//! Where profiles go: formats, the paths that name them, and atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::ValueEnum;
use flamegraph::atomic;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Flamegraph SVG (open it in a browser).
    Svg,
    /// Folded stacks, one `frame;frame;... count` line per stack.
    Folded,
    /// gzipped pprof protobuf (`go tool pprof`, Grafana, Pyroscope).
    Pprof,
    /// speedscope JSON, one profile per thread.
    Speedscope,
}

impl Format {
    /// The format a file name implies: `.svg`; `.folded` or `.txt`; `.pb.gz`, `.pb` or
    /// `.pprof`; `.speedscope.json` or `.json`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let has = |suffixes: &[&str]| suffixes.iter().any(|s| name.ends_with(s));
        if has(&[".svg"]) {
            Some(Format::Svg)
        } else if has(&[".folded", ".txt"]) {
            Some(Format::Folded)
        } else if has(&[".pb.gz", ".pb", ".pprof"]) {
            Some(Format::Pprof)
        } else if has(&[".json"]) {
            Some(Format::Speedscope)
        } else {
            None
        }
    }
}

/// One file to write, and its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputTarget {
    /// Where.
    pub path: PathBuf,
    /// As what.
    pub format: Format,
}

impl OutputTarget {
    /// The target for `path`: `format` when given, else the one its extension implies.
    pub fn new(path: &Path, format: Option<Format>) -> anyhow::Result<OutputTarget> {
        let format = match format.or_else(|| Format::from_path(path)) {
            Some(format) => format,
            None => bail!(
                "cannot tell the output format of '{}' from its extension (use .svg, \
                 .folded, .pb.gz or .speedscope.json, or --format)",
                path.display()
            ),
        };
        Ok(OutputTarget {
            path: path.to_path_buf(),
            format,
        })
    }

    /// Targets for every path, each checked writable: a mistake fails before any work.
    pub fn all(paths: &[PathBuf], format: Option<Format>) -> anyhow::Result<Vec<OutputTarget>> {
        let targets = paths
            .iter()
            .map(|path| OutputTarget::new(path, format))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for target in &targets {
            target.check_writable()?;
        }
        Ok(targets)
    }

    /// Fails early, before any work, if the file could not be written: its directory is
    /// missing or not writable, or the path is a directory.
    pub fn check_writable(&self) -> anyhow::Result<()> {
        let dir = atomic::parent_dir(&self.path);
        let meta = std::fs::metadata(dir).with_context(|| {
            format!(
                "cannot write '{}': directory '{}'",
                self.path.display(),
                dir.display()
            )
        })?;
        if !meta.is_dir() {
            bail!(
                "cannot write '{}': '{}' is not a directory",
                self.path.display(),
                dir.display()
            );
        }
        if self.path.is_dir() {
            bail!("cannot write '{}': it is a directory", self.path.display());
        }
        atomic::check_can_create_in(dir).with_context(|| {
            format!(
                "cannot write '{}': directory '{}'",
                self.path.display(),
                dir.display()
            )
        })?;
        Ok(())
    }
}

/// Writes a file atomically (see [`flamegraph::atomic`]), with the path in any error.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    atomic::write_atomically(path, |out| {
        fill(out).map_err(|err| std::io::Error::other(format!("{err:#}")))
    })
    .with_context(|| format!("cannot write '{}'", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/profile.SVG")),
            Some(Format::Svg)
        );
        assert_eq!(
            Format::from_path(Path::new("p.folded")),
            Some(Format::Folded)
        );
        assert_eq!(Format::from_path(Path::new("p.txt")), Some(Format::Folded));
        assert_eq!(Format::from_path(Path::new("p.pb.gz")), Some(Format::Pprof));
        assert_eq!(Format::from_path(Path::new("p.pprof")), Some(Format::Pprof));
        assert_eq!(
            Format::from_path(Path::new("p.speedscope.json")),
            Some(Format::Speedscope)
        );
        assert_eq!(Format::from_path(Path::new("p.dat")), None);
        assert!(OutputTarget::new(Path::new("p.dat"), None).is_err());
        assert_eq!(
            OutputTarget::new(Path::new("p.dat"), Some(Format::Folded))
                .unwrap()
                .format,
            Format::Folded
        );
    }

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("rpprof-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.txt");
        write_atomically(&path, |w| Ok(w.write_all(b"one")?)).unwrap();
        assert!(write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            anyhow::bail!("failed half way")
        })
        .is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "the failed write's temp file is gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unwritable_destinations_fail_early() {
        let missing = OutputTarget::new(Path::new("/nonexistent-dir/p.svg"), None).unwrap();
        assert!(missing.check_writable().is_err());
        let dir = OutputTarget::new(Path::new("/tmp"), Some(Format::Svg)).unwrap();
        assert!(dir.check_writable().is_err());
    }
}
