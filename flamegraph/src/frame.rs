//! Resolved frames and the table that numbers them.

use std::hash::{Hash, Hasher};

use hashbrown::HashTable;

use crate::hash::FastHasher;

/// What a frame stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameKind {
    /// A Python function.
    Python,
    /// A marker the profiler adds: `[truncated]` at the root of a cut stack, `[idle]` at the
    /// leaf of a thread that was blocked, `[interpreter]` for time outside Python code,
    /// `task NAME` under the thread for an asyncio task.
    Marker,
    /// A per-sample label, `key=value` (key in `function`, value in `file`), at the root
    /// of the stacks it tags: see [`crate::labels`].
    Label,
}

/// One resolved frame.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// The function's qualified name (`co_qualname`: `Class.method`, `outer.<locals>.inner`),
    /// or the marker's text.
    pub function: String,
    /// The source file as Python names it (`co_filename`); empty for markers.
    pub file: String,
    /// The line executing; 0 when lines are folded into functions, or unknown.
    pub line: u32,
    /// The function's first line (`co_firstlineno`); 0 when unknown.
    pub start_line: u32,
    /// Python function or marker.
    pub kind: FrameKind,
}

/// The root marker of a stack deeper than the depth limit.
pub const TRUNCATED: &str = "[truncated]";
/// The leaf marker of a sample taken while its thread was blocked. When the call it was
/// blocked in is known, the leaf names it: `[idle] lock.acquire` ([`Frame::idle_in`]).
pub const IDLE: &str = "[idle]";
/// The leaf marker of a sample of an asyncio task that waits (suspended at an `await`,
/// under the chain it waits in): not its thread's own time.
pub const AWAITING: &str = "[awaiting]";
/// The leaf marker of CPU time inside a builtin called from the frame below it:
/// `[native] sorted` ([`Frame::native_in`], with `--native`).
pub const NATIVE: &str = "[native]";
/// The one frame of the stack that holds samples past the bound on distinct stacks.
pub const OVERFLOW: &str = "[overflow]";
/// The frame of a sample taken while its thread ran no Python code: interpreter start-up,
/// finalisation, native work between calls.
pub const INTERPRETER: &str = "[interpreter]";
/// What a task frame's text starts with: `task NAME` stands under the thread for the
/// samples taken in the asyncio task NAME.
pub const TASK_PREFIX: &str = "task ";

impl Frame {
    /// A Python frame.
    pub fn python(function: &str, file: &str, line: u32, start_line: u32) -> Frame {
        Frame {
            function: function.to_owned(),
            file: file.to_owned(),
            line,
            start_line,
            kind: FrameKind::Python,
        }
    }

    /// A marker frame such as [`TRUNCATED`] or [`IDLE`].
    pub fn marker(text: &str) -> Frame {
        Frame {
            function: text.to_owned(),
            file: String::new(),
            line: 0,
            start_line: 0,
            kind: FrameKind::Marker,
        }
    }

    /// The frame of the asyncio task `name`: a marker `task NAME` (see [`TASK_PREFIX`]).
    pub fn task(name: &str) -> Frame {
        Frame::marker(&format!("{TASK_PREFIX}{name}"))
    }

    /// The task's name, for a task frame ([`Frame::task`]).
    pub fn task_name(&self) -> Option<&str> {
        match self.kind {
            FrameKind::Marker => self.function.strip_prefix(TASK_PREFIX),
            FrameKind::Python | FrameKind::Label => None,
        }
    }

    /// True for the [`AWAITING`] marker.
    pub fn is_awaiting(&self) -> bool {
        self.kind == FrameKind::Marker && self.function == AWAITING
    }

    /// True for the [`IDLE`] marker.
    /// The [`IDLE`] marker naming the call the thread was blocked in: `[idle] time.sleep`.
    pub fn idle_in(call: &str) -> Frame {
        Frame::marker(&format!("{IDLE} {call}"))
    }

    /// The [`NATIVE`] marker naming the builtin the thread was running: `[native] sorted`.
    pub fn native_in(call: &str) -> Frame {
        Frame::marker(&format!("{NATIVE} {call}"))
    }

    /// True for the [`IDLE`] marker, bare or naming a call (`[idle] lock.acquire`).
    pub fn is_idle(&self) -> bool {
        self.kind == FrameKind::Marker && is_marker_with(&self.function, IDLE)
    }

    /// True for a [`NATIVE`] marker (`[native] sorted`).
    pub fn is_native(&self) -> bool {
        self.kind == FrameKind::Marker && is_marker_with(&self.function, NATIVE)
    }

    /// The same frame with its line folded away (function granularity).
    pub fn without_line(&self) -> Frame {
        Frame {
            line: 0,
            ..self.clone()
        }
    }

    /// The frame as one label: `function (file:line)`, `function (file)` without a line,
    /// the bare name without a file, or the marker text.
    pub fn label(&self) -> String {
        match (self.kind, self.line) {
            (FrameKind::Marker, _) => self.function.clone(),
            (FrameKind::Label, _) => format!("{}={}", self.function, self.file),
            (FrameKind::Python, _) if self.file.is_empty() => self.function.clone(),
            (FrameKind::Python, 0) => format!("{} ({})", self.function, self.file),
            (FrameKind::Python, line) => format!("{} ({}:{})", self.function, self.file, line),
        }
    }

    /// Parses a [`Frame::label`] back. Labels that are neither markers nor
    /// `function (file[:line])` become a Python frame with that name and no file.
    pub fn parse_label(label: &str) -> Frame {
        if (label.starts_with('[') && label.ends_with(']'))
            || is_marker_with(label, IDLE)
            || is_marker_with(label, NATIVE)
        {
            return Frame::marker(label);
        }
        // A Python frame's function has no space, so `task (f.py:3)` is a function named
        // `task`; `task NAME` is a task.
        if let Some(name) = label.strip_prefix(TASK_PREFIX) {
            if !name.starts_with('(') {
                return Frame::task(name);
            }
        }
        if let Some(body) = label.strip_suffix(')') {
            if let Some(open) = body.rfind(" (") {
                let function = &body[..open];
                let location = &body[open + 2..];
                if let Some((file, line)) = location.rsplit_once(':') {
                    if let Ok(line) = line.parse() {
                        return Frame::python(function, file, line, 0);
                    }
                }
                return Frame::python(function, location, 0, 0);
            }
        }
        Frame::python(label, "", 0, 0)
    }
}

/// True for `marker` itself and for `marker NAME` (a marker naming a call).
fn is_marker_with(text: &str, marker: &str) -> bool {
    text.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// Index of a frame in a [`FrameTable`].
pub type FrameId = u32;

/// Every distinct frame of a profile, numbered in order of first appearance. Each frame is
/// stored once; the index holds only ids.
#[derive(Clone, Debug, Default)]
pub struct FrameTable {
    frames: Vec<Frame>,
    index: HashTable<FrameId>,
}

impl FrameTable {
    /// An empty table.
    pub fn new() -> FrameTable {
        FrameTable::default()
    }

    fn hash(frame: &Frame) -> u64 {
        let mut hasher = FastHasher::default();
        frame.hash(&mut hasher);
        hasher.finish()
    }

    /// The id of `frame`, adding it if it is new.
    pub fn intern(&mut self, frame: Frame) -> FrameId {
        let hash = Self::hash(&frame);
        let frames = &self.frames;
        if let Some(&id) = self.index.find(hash, |&id| frames[id as usize] == frame) {
            return id;
        }
        let id = self.frames.len() as FrameId;
        self.frames.push(frame);
        let frames = &self.frames;
        self.index
            .insert_unique(hash, id, |&other| Self::hash(&frames[other as usize]));
        id
    }

    /// The frame with this id.
    pub fn get(&self, id: FrameId) -> &Frame {
        &self.frames[id as usize]
    }

    /// Every frame, by id.
    pub fn iter(&self) -> impl Iterator<Item = (FrameId, &Frame)> {
        self.frames
            .iter()
            .enumerate()
            .map(|(i, f)| (i as FrameId, f))
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for frame in [
            Frame::python("Worker.run", "app.py", 12, 0),
            Frame::python("outer.<locals>.inner", "dir with space/x.py", 3, 0),
            Frame::python("main", "app.py", 0, 0),
            Frame::marker(IDLE),
            Frame::marker(TRUNCATED),
            Frame::task("worker-1"),
            Frame::task("fetch (retry 2)"),
            Frame::python("task", "f.py", 3, 0),
            Frame::idle_in("lock.acquire"),
            Frame::native_in("sorted"),
        ] {
            assert_eq!(Frame::parse_label(&frame.label()), frame);
        }
        assert!(Frame::idle_in("time.sleep").is_idle());
        assert!(Frame::marker(IDLE).is_idle());
        assert!(!Frame::native_in("sorted").is_idle());
        assert!(Frame::native_in("sorted").is_native());
        assert!(!Frame::marker("[idleness]").is_idle());
        assert!(!Frame::python("[idle] x", "f.py", 1, 1).is_idle());
        assert_eq!(
            Frame::parse_label("plain_name"),
            Frame::python("plain_name", "", 0, 0)
        );
    }

    #[test]
    fn interning_numbers_in_order() {
        let mut table = FrameTable::new();
        let a = table.intern(Frame::python("a", "f.py", 1, 1));
        let b = table.intern(Frame::python("b", "f.py", 2, 2));
        assert_eq!((a, b), (0, 1));
        assert_eq!(table.intern(Frame::python("a", "f.py", 1, 1)), a);
        assert_eq!(table.get(b).function, "b");
        assert_eq!(table.len(), 2);
    }
}
