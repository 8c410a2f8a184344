//! Writing files atomically: into a temporary file beside the destination, then renamed
//! over it. Readers see the old file or the whole new one, never a part; an interrupted
//! write leaves at most a `.rpprof-*.tmp` file, which the next write does not mind.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A temporary file, removed on drop unless renamed into place.
struct TempFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The directory a path's file goes in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn temp_file_in(dir: &Path) -> io::Result<TempFile> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let name = format!(
            ".rpprof-{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                return Ok(TempFile {
                    path,
                    file: Some(file),
                })
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
}

/// Checks that files can be created in `dir` (by creating and removing a temporary one).
pub fn check_can_create_in(dir: &Path) -> io::Result<()> {
    temp_file_in(dir).map(drop)
}

/// Writes `path` atomically: `fill` writes a temporary file in the same directory, which is
/// then flushed, synced and renamed over `path`.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut temp = temp_file_in(parent_dir(path))?;
    {
        let file = temp.file.as_mut().expect("a fresh temp file is open");
        let mut buffered = io::BufWriter::new(file);
        fill(&mut buffered)?;
        buffered.flush()?;
    }
    let file = temp.file.take().expect("still open");
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp.path, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_files_or_nothing() {
        let dir = std::env::temp_dir().join(format!("rpprof-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.txt");
        write_atomically(&path, |w| w.write_all(b"one")).unwrap();
        let failed = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("failed half way"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temp file is left"
        );
        assert!(check_can_create_in(&dir).is_ok());
        assert!(check_can_create_in(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
