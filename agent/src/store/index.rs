//! The store's index for other tools: `index.jsonl`, a log with one JSON object a line.
//! A window written adds a line, a window pruned adds a line; nothing already written is
//! rewritten, so a window write costs the same however many windows are stored:
//!
//! ```text
//! {"op":"add","file":"windows/1700000000000-1700000010000.pb.gz","from_ms":1700000000000,"until_ms":1700000010000,"bytes":693}
//! {"op":"remove","file":"windows/1700000000000-1700000010000.pb.gz","from_ms":1700000000000,"until_ms":1700000010000}
//! ```
//!
//! Replaying the lines in order gives the stored windows (an `add` of a file already added
//! replaces it). The log is rewritten whole (atomically, only `add` lines, oldest first)
//! when the store is opened or reopened, and when its dead lines (removed windows, their
//! `remove` lines, replaced `add`s) outnumber its live ones, so it stays within about
//! twice the size of the store's listing and rewrites are rare (with a week of 10 s
//! windows, every few days). A crash can leave a cut last line: readers skip a line that
//! does not parse. The index is a convenience: the `windows/` listing stays the truth.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flamegraph::atomic::write_atomically;

use super::StoredWindow;

/// The index file's name in the store's directory.
pub(super) const INDEX_FILE: &str = "index.jsonl";
/// The name of the index that earlier versions rewrote whole on every window.
pub(super) const OLD_INDEX_FILE: &str = "index.json";
/// Dead lines tolerated whatever the store's size, so a small store is not rewritten on
/// every window.
const DEAD_LINES_FLOOR: usize = 256;

/// What happened to a window, as one line of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum IndexChange {
    /// A new window.
    Added(StoredWindow),
    /// A window written again over one with the same time range.
    Replaced(StoredWindow),
    /// A window deleted.
    Removed(StoredWindow),
}

/// The log file, open for appending, and how much of it is still live.
#[derive(Debug)]
pub(super) struct IndexLog {
    path: PathBuf,
    /// `None` until the first rewrite, and after a failed append (the next change rewrites).
    file: Option<File>,
    /// Lines describing a stored window.
    live_lines: usize,
    /// Lines that no longer do.
    dead_lines: usize,
}

fn line(op: &str, window: &StoredWindow, with_bytes: bool) -> serde_json::Value {
    let mut entry = serde_json::json!({
        "op": op,
        "file": format!("windows/{}", window.file_name()),
        "from_ms": window.from_ms,
        "until_ms": window.until_ms,
    });
    if with_bytes {
        entry["bytes"] = window.bytes.into();
    }
    entry
}

fn write_line(out: &mut dyn Write, entry: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, entry).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

impl IndexLog {
    /// The log of the store in `dir` (nothing is read or written yet).
    pub(super) fn new(dir: &Path) -> IndexLog {
        IndexLog {
            path: dir.join(INDEX_FILE),
            file: None,
            live_lines: 0,
            dead_lines: 0,
        }
    }

    /// The log's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// True when the next change should rewrite the log rather than append to it.
    pub(super) fn wants_rewrite(&self) -> bool {
        self.file.is_none() || self.dead_lines > self.live_lines.max(DEAD_LINES_FLOOR)
    }

    /// Replaces the log (atomically) with one `add` line per window, in the order given.
    pub(super) fn rewrite<'a>(
        &mut self,
        windows: impl Iterator<Item = &'a StoredWindow>,
    ) -> io::Result<()> {
        self.file = None;
        let mut count = 0;
        write_atomically(&self.path, |out| {
            for window in windows {
                write_line(out, &line("add", window, true))?;
                count += 1;
            }
            Ok(())
        })?;
        self.file = Some(File::options().append(true).open(&self.path)?);
        self.live_lines = count;
        self.dead_lines = 0;
        Ok(())
    }

    /// Appends the changes' lines in one write.
    pub(super) fn append(&mut self, changes: &[IndexChange]) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::with_capacity(changes.len() * 160);
        let (mut live, mut dead) = (self.live_lines, self.dead_lines);
        for change in changes {
            let entry = match change {
                IndexChange::Added(window) => {
                    live += 1;
                    line("add", window, true)
                }
                IndexChange::Replaced(window) => {
                    // The earlier `add` of the same file is dead now.
                    dead += 1;
                    line("add", window, true)
                }
                IndexChange::Removed(window) => {
                    // Its `add` and this line.
                    live = live.saturating_sub(1);
                    dead += 2;
                    line("remove", window, false)
                }
            };
            write_line(&mut lines, &entry)?;
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("the index log is not open"));
        };
        // One write to a file opened for appending: a line is never split by another
        // writer, and a crash cuts at most the last one.
        if let Err(err) = file.write_all(&lines) {
            self.file = None;
            return Err(err);
        }
        self.live_lines = live;
        self.dead_lines = dead;
        Ok(())
    }
}

/// The windows the log describes, replaying it as a reader would.
#[cfg(test)]
pub(super) fn replay(path: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = Vec::new();
    for text in std::fs::read_to_string(path).unwrap().lines() {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(text) else {
            continue;
        };
        let file = entry["file"].as_str().unwrap().to_string();
        files.retain(|(f, _)| *f != file);
        if entry["op"] == "add" {
            files.push((file, entry["bytes"].as_u64().unwrap()));
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from_ms: u64) -> StoredWindow {
        StoredWindow {
            from_ms,
            until_ms: from_ms + 10,
            bytes: 100 + from_ms,
        }
    }

    fn line_count(path: &Path) -> usize {
        std::fs::read_to_string(path).unwrap().lines().count()
    }

    #[test]
    fn changes_are_appended_and_replay_to_the_windows() {
        let dir = std::env::temp_dir().join(format!("rpprof-index-append-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut log = IndexLog::new(&dir);
        assert!(log.wants_rewrite(), "not open yet");
        log.rewrite([window(0), window(10)].iter()).unwrap();
        assert!(!log.wants_rewrite());
        assert_eq!(line_count(log.path()), 2);
        let replaced = StoredWindow {
            bytes: 7,
            ..window(10)
        };
        log.append(&[
            IndexChange::Added(window(20)),
            IndexChange::Replaced(replaced),
            IndexChange::Removed(window(0)),
        ])
        .unwrap();
        assert_eq!(line_count(log.path()), 5, "appended, not rewritten");
        assert_eq!((log.live_lines, log.dead_lines), (2, 3));
        assert_eq!(
            replay(log.path()),
            vec![
                ("windows/10-20.pb.gz".to_string(), 7),
                ("windows/20-30.pb.gz".to_string(), 120)
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rewrite_is_wanted_once_dead_lines_outnumber_live_ones() {
        let dir = std::env::temp_dir().join(format!("rpprof-index-dead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut log = IndexLog::new(&dir);
        let windows: Vec<StoredWindow> = (0..1000).map(|i| window(i * 10)).collect();
        log.rewrite(windows.iter()).unwrap();
        let mut removed = 0;
        while !log.wants_rewrite() {
            log.append(&[IndexChange::Removed(windows[removed].clone())])
                .unwrap();
            removed += 1;
        }
        // 2 dead lines per removal; live 1000 - removed: dead > live from 334 removals on.
        assert_eq!(removed, 334);
        log.rewrite(windows[removed..].iter()).unwrap();
        assert_eq!(line_count(log.path()), 1000 - removed);
        assert!(!log.wants_rewrite());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
