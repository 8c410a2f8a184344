//! The local store: one gzipped pprof file per window, named after the time range it
//! covers, so a range is found from the directory listing alone; an `index.json` beside
//! them lists the same for other tools. Files are written atomically (temp file, then
//! rename), so a crash leaves whole windows or none, and the listing is the truth: the
//! index is rebuilt from it on start and on [`Store::reopen`] (SIGHUP).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use flamegraph::{atomic::write_atomically, pprof, Profile, ProfileMeta};

use crate::AgentError;

/// One stored window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWindow {
    /// Start, in Unix milliseconds.
    pub from_ms: u64,
    /// End, in Unix milliseconds.
    pub until_ms: u64,
    /// Size of its file.
    pub bytes: u64,
}

impl StoredWindow {
    fn file_name(&self) -> String {
        format!("{}-{}.pb.gz", self.from_ms, self.until_ms)
    }

    fn from_file_name(name: &str) -> Option<(u64, u64)> {
        let stem = name.strip_suffix(".pb.gz")?;
        let (from, until) = stem.split_once('-')?;
        Some((from.parse().ok()?, until.parse().ok()?))
    }
}

/// The store.
pub struct Store {
    dir: PathBuf,
    retain: Duration,
    max_bytes: u64,
    windows: Mutex<Vec<StoredWindow>>,
}

impl Store {
    /// Opens (creating it if needed) the store in `dir`, keeping windows for `retain` and
    /// at most `max_bytes` of them.
    pub fn open(dir: &Path, retain: Duration, max_bytes: u64) -> Result<Store, AgentError> {
        let store = Store {
            dir: dir.to_path_buf(),
            retain,
            max_bytes,
            windows: Mutex::new(Vec::new()),
        };
        store.reopen()?;
        Ok(store)
    }

    fn windows_dir(&self) -> PathBuf {
        self.dir.join("windows")
    }

    fn lock(&self) -> MutexGuard<'_, Vec<StoredWindow>> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, path: &Path, source: std::io::Error) -> AgentError {
        AgentError::Store {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Re-reads the directory (after it was moved, restored or rotated): the listing is
    /// the index; leftover temporary files are removed.
    pub fn reopen(&self) -> Result<(), AgentError> {
        let windows_dir = self.windows_dir();
        std::fs::create_dir_all(&windows_dir).map_err(|e| self.fail(&windows_dir, e))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&windows_dir).map_err(|e| self.fail(&windows_dir, e))? {
            let entry = entry.map_err(|e| self.fail(&windows_dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Some((from_ms, until_ms)) = StoredWindow::from_file_name(&name) else {
                continue;
            };
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
            found.push(StoredWindow {
                from_ms,
                until_ms,
                bytes,
            });
        }
        found.sort_by_key(|w| (w.from_ms, w.until_ms));
        *self.lock() = found;
        self.write_index()
    }

    /// Writes a window's profile (its time range in the profile's metadata).
    pub fn write(&self, profile: &Profile, now_ms: u64) -> Result<StoredWindow, AgentError> {
        self.write_encoded(&self.encode(profile)?, &profile.meta, now_ms)
    }

    /// A profile as the store keeps it: gzipped pprof.
    pub fn encode(&self, profile: &Profile) -> Result<Vec<u8>, AgentError> {
        let mut encoded = Vec::new();
        pprof::write(profile, &flamegraph::WriteOptions::default(), &mut encoded)
            .map_err(|e| self.fail(&self.windows_dir(), std::io::Error::other(e.to_string())))?;
        Ok(encoded)
    }

    /// Writes a window already encoded as gzipped pprof; `meta` is its profile's metadata.
    pub fn write_encoded(
        &self,
        encoded: &[u8],
        meta: &ProfileMeta,
        now_ms: u64,
    ) -> Result<StoredWindow, AgentError> {
        let from_ms = meta.start_unix_ns / 1_000_000;
        let until_ms = from_ms + meta.duration_ns / 1_000_000;
        let mut window = StoredWindow {
            from_ms,
            until_ms: until_ms.max(from_ms + 1),
            bytes: 0,
        };
        let path = self.windows_dir().join(window.file_name());
        write_atomically(&path, |out| out.write_all(encoded)).map_err(|e| self.fail(&path, e))?;
        window.bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        {
            let mut windows = self.lock();
            windows.retain(|w| w.file_name() != window.file_name());
            windows.push(window.clone());
            windows.sort_by_key(|w| (w.from_ms, w.until_ms));
        }
        self.prune(now_ms);
        self.write_index()?;
        Ok(window)
    }

    /// Deletes windows older than the retention, then the oldest while over the size cap.
    pub fn prune(&self, now_ms: u64) {
        let oldest_kept = now_ms.saturating_sub(self.retain.as_millis() as u64);
        let mut windows = self.lock();
        let mut total: u64 = windows.iter().map(|w| w.bytes).sum();
        let mut keep = Vec::with_capacity(windows.len());
        for window in windows.drain(..) {
            let expired = window.until_ms < oldest_kept;
            let over = total > self.max_bytes;
            if expired || over {
                total -= window.bytes;
                let _ = std::fs::remove_file(self.windows_dir().join(window.file_name()));
            } else {
                keep.push(window);
            }
        }
        *windows = keep;
    }

    fn write_index(&self) -> Result<(), AgentError> {
        let entries: Vec<serde_json::Value> = self
            .lock()
            .iter()
            .map(|w| {
                serde_json::json!({
                    "file": format!("windows/{}", w.file_name()),
                    "from_ms": w.from_ms,
                    "until_ms": w.until_ms,
                    "bytes": w.bytes,
                })
            })
            .collect();
        let path = self.dir.join("index.json");
        write_atomically(&path, |out| {
            serde_json::to_writer_pretty(&mut *out, &entries).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        })
        .map_err(|e| self.fail(&path, e))
    }

    /// Windows overlapping `[from_ms, until_ms]`, oldest first.
    pub fn range(&self, from_ms: u64, until_ms: u64) -> Vec<StoredWindow> {
        self.lock()
            .iter()
            .filter(|w| w.until_ms > from_ms && w.from_ms < until_ms)
            .cloned()
            .collect()
    }

    /// Reads a stored window back.
    pub fn read(&self, window: &StoredWindow) -> Result<Profile, AgentError> {
        let path = self.windows_dir().join(window.file_name());
        let bytes = std::fs::read(&path).map_err(|e| self.fail(&path, e))?;
        pprof::parse(&bytes).map_err(|e| self.fail(&path, std::io::Error::other(e.to_string())))
    }

    /// How many windows are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no window is stored.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Bytes the stored windows take.
    pub fn bytes(&self) -> u64 {
        self.lock().iter().map(|w| w.bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flamegraph::{folded, ProfileMeta};

    fn window(start_s: u64, samples: u64) -> Profile {
        folded::parse(
            format!("main (tid 1);work (a.py:3) {samples}\n").as_bytes(),
            ProfileMeta {
                rate_hz: 99,
                start_unix_ns: start_s * 1_000_000_000,
                duration_ns: 10_000_000_000,
                ..ProfileMeta::default()
            },
        )
        .unwrap()
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rpprof-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn windows_are_written_found_by_range_and_read_back() {
        let dir = temp_dir("range");
        let store = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
        for (i, start) in [1000u64, 1010, 1020].iter().enumerate() {
            store
                .write(&window(*start, i as u64 + 1), 1_030_000)
                .unwrap();
        }
        assert_eq!(store.len(), 3);
        let found = store.range(1_011_000, 1_015_000);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].from_ms, 1_010_000);
        assert_eq!(store.read(&found[0]).unwrap().total().get(0), 2);
        let index = std::fs::read_to_string(dir.join("index.json")).unwrap();
        assert!(index.contains("windows/1010000-1020000.pb.gz"), "{index}");
        // A fresh open finds the same windows from the listing; temp files are cleaned.
        std::fs::write(dir.join("windows/.rpprof-1-1.tmp"), "partial").unwrap();
        let again = Store::open(&dir, Duration::from_secs(86_400), u64::MAX).unwrap();
        assert_eq!(again.len(), 3);
        assert!(!dir.join("windows/.rpprof-1-1.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pruning_by_age_and_size() {
        let dir = temp_dir("prune");
        let store = Store::open(&dir, Duration::from_secs(25), u64::MAX).unwrap();
        for start in [1000u64, 1010, 1020, 1030] {
            store.write(&window(start, 5), (start + 10) * 1000).unwrap();
        }
        // At 1040 s, keeping 25 s: the window that ended at 1010 s is gone.
        assert_eq!(store.range(0, u64::MAX).first().unwrap().from_ms, 1_010_000);
        let newest_two: u64 = store
            .range(0, u64::MAX)
            .iter()
            .rev()
            .take(2)
            .map(|w| w.bytes)
            .sum();
        let capped = Store::open(&dir, Duration::from_secs(86_400), newest_two).unwrap();
        capped.prune(1_040_000);
        assert_eq!(capped.len(), 2, "the size cap keeps the newest two");
        assert_eq!(capped.range(0, u64::MAX)[0].from_ms, 1_020_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
