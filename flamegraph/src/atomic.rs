//! Writing files atomically: into a temporary file beside the destination, then renamed
//! over it. Readers see the old file or the whole new one, never a part; an interrupted
//! write leaves at most a `.rpprof-*.tmp` file, which the next write does not mind.
//!
//! A destination that is not a file (`/dev/null`, `/dev/stdout`, a named pipe) is written
//! as it is: renaming over it would replace the device or the pipe with a file (as
//! `-o /dev/null` once replaced this machine's `/dev/null`). A symbolic link to a file is
//! followed: the file it names is replaced, and the link stays.

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

/// True when `path` exists and is neither a file nor a directory (a device, a pipe, a
/// socket): it is written in place, never replaced.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}

/// Writes `path` atomically: `fill` writes a temporary file in the same directory, which is
/// then flushed, synced and renamed over `path` (or, for a symbolic link, over the file it
/// names). A device or a pipe ([`is_special`]) is written directly.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    if is_special(path) {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        let mut buffered = io::BufWriter::new(file);
        fill(&mut buffered)?;
        return buffered.flush();
    }
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => {
                resolved = target;
                resolved.as_path()
            }
            // A dangling link: replaced by the file, as before.
            Err(_) => path,
        },
        _ => path,
    };
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
        // A link keeps being a link to the rewritten file.
        let link = dir.join("link.txt");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        write_atomically(&link, |w| w.write_all(b"two")).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_device_is_written_not_replaced() {
        let null = Path::new("/dev/null");
        assert!(is_special(null));
        write_atomically(null, |w| w.write_all(b"gone")).unwrap();
        let meta = std::fs::metadata(null).unwrap();
        assert!(!meta.is_file(), "/dev/null is still a device");
    }
}
