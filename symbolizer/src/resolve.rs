//! The one stack resolver: a raw stack (the sampler's addresses and lines, with the
//! sample's flags) to a numbered stack of named frames, root first, with its markers:
//! label frames, the asyncio task, `[truncated]`, `[interpreter]`, the leaf
//! (`[idle] NAME`, `[native] NAME`) and `[awaiting]`. Each distinct raw frame is named once
//! and each distinct raw stack resolved once (a fingerprint cache). The
//! [`Aggregator`](crate::Aggregator) owns it; the [`TimelineRecorder`](crate::TimelineRecorder)
//! keeps the stack numbers it hands out, so a recording that keeps its samples in time order
//! resolves each stack once, not once per stage.

use flamegraph::hash::FastMap;
use flamegraph::{Frame, FrameId, FrameTable, AWAITING, INTERPRETER, OVERFLOW, TRUNCATED};
use sampler::{RawFrame, TaskName};

use crate::calls::LeafMarkers;
use crate::labels::LabelFrames;
use crate::names::Symbolizer;
use crate::stacks::{Fingerprint, RawStackCache, StackFlags, StackId, StackTable};

/// The most distinct asyncio task names kept apart (a server that starts a task per request
/// names millions, `Task-1`, `Task-2`, ...). Past the bound, a new name is drawn as its group
/// (its numbers as `N`: `Task-N`), and past as many groups, as `task [other tasks]`.
pub(crate) const MAX_TASK_NAMES: usize = 10_000;
/// The task frame past [`MAX_TASK_NAMES`].
pub(crate) const OTHER_TASKS: &str = "[other tasks]";

/// Names frames and numbers stacks; bounded by its stack table's bound.
pub(crate) struct StackResolver {
    symbolizer: Symbolizer,
    /// Every frame named so far.
    pub(crate) frames: FrameTable,
    frame_ids: FastMap<RawFrame, FrameId>,
    task_ids: FastMap<TaskName, FrameId>,
    task_group_ids: FastMap<String, FrameId>,
    /// Every stack numbered since the table was last emptied.
    pub(crate) stacks: StackTable,
    cache: RawStackCache,
    truncated: FrameId,
    leaves: LeafMarkers,
    awaiting: FrameId,
    interpreter: FrameId,
    /// The `[overflow]` stack, for samples of new stacks once the table is full.
    pub(crate) overflow: StackId,
    stack: Vec<FrameId>,
    labels: LabelFrames,
}

impl StackResolver {
    /// An empty resolver keeping at most `max_stacks` stacks (and `[overflow]`).
    pub(crate) fn new(max_stacks: usize, symbolizer: Symbolizer) -> StackResolver {
        let mut frames = FrameTable::new();
        let truncated = frames.intern(Frame::marker(TRUNCATED));
        let leaves = LeafMarkers::new(&mut frames);
        let awaiting = frames.intern(Frame::marker(AWAITING));
        let interpreter = frames.intern(Frame::marker(INTERPRETER));
        let overflow_frame = frames.intern(Frame::marker(OVERFLOW));
        // The overflow stack is not counted against the bound.
        let mut stacks = StackTable::new(max_stacks.saturating_add(1));
        let overflow = stacks
            .intern(&[overflow_frame])
            .expect("an empty table has room");
        StackResolver {
            symbolizer,
            frames,
            frame_ids: FastMap::default(),
            task_ids: FastMap::default(),
            task_group_ids: FastMap::default(),
            stacks,
            cache: RawStackCache::new(),
            truncated,
            leaves,
            awaiting,
            interpreter,
            overflow,
            stack: Vec::with_capacity(256),
            labels: LabelFrames::default(),
        }
    }

    /// The number of a raw stack (from the cache, or resolved and numbered), `[overflow]`'s
    /// once the table is full.
    pub(crate) fn stack_id(&mut self, flags: StackFlags, raw_frames: &[RawFrame]) -> StackId {
        let print = Fingerprint::of(raw_frames, flags);
        match self.cache.get(print) {
            Some(id) => id,
            None => {
                // A full table gains no room until `empty` empties it, which also clears the
                // cache: a stack sent to overflow can be cached there like any other.
                let id = self.resolve(flags, raw_frames).unwrap_or(self.overflow);
                self.cache.insert(print, id);
                id
            }
        }
    }

    /// The sample's stack (frames root first, with its markers), numbered, or `None` when it
    /// is new and the table is full. Once full, frames are not resolved any more either: a
    /// stack with a frame never seen cannot be in the table.
    fn resolve(&mut self, flags: StackFlags, raw_frames: &[RawFrame]) -> Option<StackId> {
        let full = self.stacks.is_full();
        self.stack.clear();
        self.labels
            .push(flags.labels, &mut self.frames, &mut self.stack);
        // The asyncio task right under the labels.
        self.stack.extend(flags.task);
        if flags.truncated {
            self.stack.push(self.truncated);
        }
        if !self.symbolizer.push_frames(
            raw_frames,
            &mut self.frame_ids,
            &mut self.frames,
            full,
            &mut self.stack,
        ) {
            return None;
        }
        if raw_frames.is_empty() {
            self.stack.push(self.interpreter);
        }
        if let Some(leaf) = self.leaves.leaf(
            flags.idle,
            flags.call,
            &mut self.symbolizer,
            &mut self.frames,
        ) {
            self.stack.push(leaf);
        }
        if flags.awaiting {
            self.stack.push(self.awaiting);
        }
        self.stacks.intern(&self.stack)
    }

    /// The `task NAME` frame of an asyncio task.
    pub(crate) fn task_frame(&mut self, task: TaskName) -> FrameId {
        if let Some(&id) = self.task_ids.get(&task) {
            return id;
        }
        let name = task.text();
        if self.task_ids.len() < MAX_TASK_NAMES {
            let id = self.frames.intern(Frame::task(&name));
            self.task_ids.insert(task, id);
            return id;
        }
        // Past the bound, names that differ only in numbers share a frame (`Task-N`).
        let group = flamegraph::groups::group_of(&name);
        if let Some(&id) = self.task_group_ids.get(&group) {
            return id;
        }
        if self.task_group_ids.len() >= MAX_TASK_NAMES {
            return self.frames.intern(Frame::task(OTHER_TASKS));
        }
        let id = self.frames.intern(Frame::task(&group));
        self.task_group_ids.insert(group, id);
        id
    }

    /// Empties the stack table and its cache (frames stay named), then numbers `keep`'s
    /// stacks again; returns each kept stack's new number.
    pub(crate) fn empty(
        &mut self,
        keep: impl Iterator<Item = StackId>,
    ) -> FastMap<StackId, StackId> {
        let kept: FastMap<StackId, Vec<FrameId>> =
            keep.map(|id| (id, self.stacks.get(id).to_vec())).collect();
        self.cache.clear();
        self.stacks.clear();
        let overflow_frame = self.frames.intern(Frame::marker(OVERFLOW));
        self.overflow = self
            .stacks
            .intern(&[overflow_frame])
            .expect("an empty table has room");
        kept.into_iter()
            .map(|(old, frames)| (old, self.stacks.intern(&frames).unwrap_or(self.overflow)))
            .collect()
    }

    /// The number of `frames` (of another resolver's table `from`) in this one, for moving
    /// stacks from a resolver being replaced.
    pub(crate) fn stack_from(&mut self, from: &FrameTable, frames: &[FrameId]) -> StackId {
        self.stack.clear();
        for &frame in frames {
            self.stack.push(self.frames.intern(from.get(frame).clone()));
        }
        self.stacks.intern(&self.stack).unwrap_or(self.overflow)
    }
}
