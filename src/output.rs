//! Where profiles go: the files named on the command line, the format each one gets (from
//! the format table, `flamegraph::format`), and atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use flamegraph::{atomic, Format};

/// One file to write, and its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputTarget {
    /// Where.
    pub path: PathBuf,
    /// As what.
    pub format: &'static Format,
}

impl OutputTarget {
    /// The target for `path`: `format` when given, else the one its extension implies.
    pub fn new(path: &Path, format: Option<&'static Format>) -> anyhow::Result<OutputTarget> {
        let format = match format.or_else(|| Format::for_path(path)) {
            Some(format) => format,
            None => bail!(
                "cannot tell the output format of '{}' from its extension (use {}, or \
                 --format)",
                path.display(),
                Format::suggested_extensions()
            ),
        };
        Ok(OutputTarget {
            path: path.to_path_buf(),
            format,
        })
    }

    /// Targets for every path, each checked writable: a mistake fails before any work.
    pub fn all(
        paths: &[PathBuf],
        format: Option<&'static Format>,
    ) -> anyhow::Result<Vec<OutputTarget>> {
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
        // A device or a pipe (`-o /dev/null`) is written in place: it must open for writing.
        if atomic::is_special(&self.path) {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&self.path)
                .with_context(|| format!("cannot write '{}'", self.path.display()))?;
            return Ok(());
        }
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

/// Prints `text` on standard output. A reader that went away (`rpprof report x | head`) is
/// not an error: the rest of the text is not wanted.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(err).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension_unless_given() {
        let svg = OutputTarget::new(Path::new("a/profile.SVG"), None).unwrap();
        assert_eq!(svg.format.name, "svg");
        let err = OutputTarget::new(Path::new("p.dat"), None).unwrap_err();
        assert!(
            err.to_string()
                .contains(".svg, .folded, .pb.gz, .speedscope.json"),
            "{err}"
        );
        let folded = Format::named("folded");
        assert_eq!(
            OutputTarget::new(Path::new("p.dat"), folded)
                .unwrap()
                .format
                .name,
            "folded"
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
        let dir = OutputTarget::new(Path::new("/tmp"), Format::named("svg")).unwrap();
        assert!(dir.check_writable().is_err());
    }
}
