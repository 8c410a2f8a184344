//! Turning raw frames into named ones. Raw frames carry addresses of interned strings
//! (immortal, so valid forever); this reads their text once per address and caches it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flamegraph::hash::FastMap;
use flamegraph::{Frame, FrameId, FrameTable};
use rustpython_vm::builtins::PyStrInterned;
use sampler::RawFrame;

/// Resolves [`RawFrame`]s to [`Frame`]s, caching every string it reads.
pub struct Symbolizer {
    base_dir: Option<PathBuf>,
    texts: HashMap<usize, Arc<str>>,
    files: HashMap<usize, Arc<str>>,
}

impl Symbolizer {
    /// A symbolizer that shows files under `base_dir` (usually the working directory)
    /// relative to it, and other files as Python names them.
    pub fn new(base_dir: Option<PathBuf>) -> Symbolizer {
        Symbolizer {
            base_dir,
            texts: HashMap::new(),
            files: HashMap::new(),
        }
    }

    /// The named frame for a raw one.
    ///
    /// `raw` must come from the sampler, whose handler fills `qualname` and `filename` with
    /// addresses of interned interpreter strings (and nothing else).
    pub fn resolve(&mut self, raw: &RawFrame) -> Frame {
        let function = self.text(raw.qualname);
        let file = self.file(raw.filename);
        Frame::python(&function, &file, raw.line, raw.first_line)
    }

    /// Pushes the ids of `raw_frames` (innermost first) onto `stack`, outermost first,
    /// resolving and interning into `frames` each raw frame `ids` does not know yet.
    /// With `no_new_frames` (the caller's stack table is full, so a stack with a new frame
    /// could not be kept) it stops at the first unknown frame and returns false.
    pub(crate) fn push_frames(
        &mut self,
        raw_frames: &[RawFrame],
        ids: &mut FastMap<RawFrame, FrameId>,
        frames: &mut FrameTable,
        no_new_frames: bool,
        stack: &mut Vec<FrameId>,
    ) -> bool {
        for raw in raw_frames.iter().rev() {
            let id = match ids.get(raw) {
                Some(&id) => id,
                None if no_new_frames => return false,
                None => {
                    let id = frames.intern(self.resolve(raw));
                    ids.insert(*raw, id);
                    id
                }
            };
            stack.push(id);
        }
        true
    }

    /// The text of the interned string at `address` (an address the sampler recorded).
    pub(crate) fn text(&mut self, address: usize) -> Arc<str> {
        self.texts
            .entry(address)
            .or_insert_with(|| interned_text(address).into())
            .clone()
    }

    fn file(&mut self, address: usize) -> Arc<str> {
        if let Some(file) = self.files.get(&address) {
            return file.clone();
        }
        let full = interned_text(address);
        let shown: Arc<str> = shorten(&full, self.base_dir.as_deref()).into();
        self.files.insert(address, shown.clone());
        shown
    }
}

/// The text of an interned string, with lone surrogates replaced (`as_str` would panic).
fn interned_text(address: usize) -> String {
    if address == 0 {
        return "<unknown>".to_owned();
    }
    // SAFETY: the sampler only stores addresses of `&'static PyStrInterned` (code objects'
    // `co_qualname` and `co_filename`); interned strings are never freed, so the address
    // still names the same live string on any thread.
    let interned: &PyStrInterned = unsafe { &*(address as *const PyStrInterned) };
    interned.to_string_lossy().into_owned()
}

/// `base/dir/file.py` -> `dir/file.py`; anything else unchanged.
fn shorten(path: &str, base_dir: Option<&Path>) -> String {
    if let Some(base) = base_dir {
        if let Ok(relative) = Path::new(path).strip_prefix(base) {
            return relative.to_string_lossy().into_owned();
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_base_are_relative() {
        let base = Path::new("/home/u/project");
        assert_eq!(
            shorten("/home/u/project/app/main.py", Some(base)),
            "app/main.py"
        );
        assert_eq!(shorten("/usr/lib/x.py", Some(base)), "/usr/lib/x.py");
        assert_eq!(shorten("<string>", Some(base)), "<string>");
        assert_eq!(shorten("/a/b.py", None), "/a/b.py");
    }
}
