//! The local store: one gzipped pprof file per window, named after the time range it
//! covers (`windows/FROM_MS-UNTIL_MS.pb.gz`), so a range is found from the directory
//! listing alone; an `index.jsonl` beside them logs the same for other tools (see
//! [`index`] for its lines). Files are written atomically (temp file, then rename), so a
//! crash leaves whole windows or none, and the listing is the truth: the store's view is
//! rebuilt from it on start and on [`Store::reopen`] (SIGHUP), and the index rewritten.
//! Stores made by earlier versions, with an `index.json` rewritten whole on every window,
//! open the same way (their stale `index.json` is removed).
//!
//! Writing a window costs the same with a week of windows stored as with a minute: the
//! windows are kept in time order as they arrive (see [`timeline`]) with a running total
//! of their bytes, pruning drops them from the oldest end, and the index is appended to.

mod index;
mod timeline;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use flamegraph::{atomic::write_atomically, pprof, Profile, ProfileMeta};

use crate::AgentError;
use index::{IndexChange, IndexLog, OLD_INDEX_FILE};
use timeline::Timeline;

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

/// What the store knows of its directory, changed under one lock.
struct Contents {
    timeline: Timeline,
    index: IndexLog,
}

/// The store.
pub struct Store {
    dir: PathBuf,
    retain: Duration,
    max_bytes: u64,
    contents: Mutex<Contents>,
}

impl Store {
    /// Opens (creating it if needed) the store in `dir`, keeping windows for `retain` and
    /// at most `max_bytes` of them.
    pub fn open(dir: &Path, retain: Duration, max_bytes: u64) -> Result<Store, AgentError> {
        let store = Store {
            dir: dir.to_path_buf(),
            retain,
            max_bytes,
            contents: Mutex::new(Contents {
                timeline: Timeline::default(),
                index: IndexLog::new(dir),
            }),
        };
        store.reopen()?;
        Ok(store)
    }

    fn windows_dir(&self) -> PathBuf {
        self.dir.join("windows")
    }

    fn lock(&self) -> MutexGuard<'_, Contents> {
        self.contents.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, path: &Path, source: std::io::Error) -> AgentError {
        AgentError::Store {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Re-reads the directory (after it was moved, restored or rotated): the listing is
    /// the store; leftover temporary files are removed and the index is rewritten from it.
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
        let old_index = self.dir.join(OLD_INDEX_FILE);
        match std::fs::remove_file(&old_index) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(self.fail(&old_index, err))
            }
            _ => {}
        }
        let mut contents = self.lock();
        contents.timeline = Timeline::from_unordered(found);
        let Contents { timeline, index } = &mut *contents;
        index
            .rewrite(timeline.iter())
            .map_err(|e| self.fail(index.path(), e))
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
    /// A window with the same time range as a stored one replaces it. Then prunes.
    pub fn write_encoded(
        &self,
        encoded: &[u8],
        meta: &ProfileMeta,
        now_ms: u64,
    ) -> Result<StoredWindow, AgentError> {
        let from_ms = meta.start_unix_ns / 1_000_000;
        let until_ms = from_ms + meta.duration_ns / 1_000_000;
        let window = StoredWindow {
            from_ms,
            until_ms: until_ms.max(from_ms + 1),
            bytes: encoded.len() as u64,
        };
        let path = self.windows_dir().join(window.file_name());
        write_atomically(&path, |out| out.write_all(encoded)).map_err(|e| self.fail(&path, e))?;
        let mut contents = self.lock();
        let mut changes = Vec::with_capacity(2);
        changes.push(match contents.timeline.insert(window.clone()) {
            None => IndexChange::Added(window.clone()),
            Some(_) => IndexChange::Replaced(window.clone()),
        });
        self.prune_contents(&mut contents, now_ms, &mut changes);
        self.log_changes(&mut contents, &changes)?;
        Ok(window)
    }

    /// Deletes windows older than the retention, then the oldest while over the size cap.
    pub fn prune(&self, now_ms: u64) {
        let mut contents = self.lock();
        let mut changes = Vec::new();
        self.prune_contents(&mut contents, now_ms, &mut changes);
        // A failed index write is retried whole with the next change; the listing is
        // right whatever happens to the index.
        let _ = self.log_changes(&mut contents, &changes);
    }

    /// Drops windows from the oldest end while the oldest has expired or the store is over
    /// its size cap. (A window that ended long ago but started after one still kept,
    /// which only overlapping windows can do, goes when that one does.)
    fn prune_contents(&self, contents: &mut Contents, now_ms: u64, changes: &mut Vec<IndexChange>) {
        let oldest_kept = now_ms.saturating_sub(self.retain.as_millis() as u64);
        let timeline = &mut contents.timeline;
        while let Some(oldest) = timeline.oldest() {
            let expired = oldest.until_ms < oldest_kept;
            let over = timeline.total_bytes() > self.max_bytes;
            if !(expired || over) {
                break;
            }
            let Some(gone) = timeline.pop_oldest() else {
                break;
            };
            let _ = std::fs::remove_file(self.windows_dir().join(gone.file_name()));
            changes.push(IndexChange::Removed(gone));
        }
    }

    /// Appends the changes to the index, or rewrites it when it has grown mostly dead.
    fn log_changes(
        &self,
        contents: &mut Contents,
        changes: &[IndexChange],
    ) -> Result<(), AgentError> {
        if changes.is_empty() {
            return Ok(());
        }
        let Contents { timeline, index } = contents;
        let written = if index.wants_rewrite() {
            index.rewrite(timeline.iter())
        } else {
            index.append(changes)
        };
        written.map_err(|e| self.fail(index.path(), e))
    }

    /// Windows overlapping `[from_ms, until_ms]`, oldest first.
    pub fn range(&self, from_ms: u64, until_ms: u64) -> Vec<StoredWindow> {
        self.lock().timeline.overlapping(from_ms, until_ms)
    }

    /// Reads a stored window back.
    pub fn read(&self, window: &StoredWindow) -> Result<Profile, AgentError> {
        let path = self.windows_dir().join(window.file_name());
        let bytes = std::fs::read(&path).map_err(|e| self.fail(&path, e))?;
        pprof::parse(&bytes).map_err(|e| self.fail(&path, std::io::Error::other(e.to_string())))
    }

    /// How many windows are stored.
    pub fn len(&self) -> usize {
        self.lock().timeline.len()
    }

    /// True when no window is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the stored windows take.
    pub fn bytes(&self) -> u64 {
        self.lock().timeline.total_bytes()
    }
}

#[cfg(test)]
mod tests;
