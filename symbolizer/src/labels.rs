//! Label sets to label frames: a sample's label set id (`sampler::labels`) becomes one
//! label frame per `key=value`, in key order, at the root of its stack
//! (`flamegraph::labels` says what each output makes of them). Each set is looked up in
//! the sampler's table once per aggregator and cached.

use flamegraph::hash::FastMap;
use flamegraph::{Frame, FrameId, FrameTable};
use sampler::labels::{label_set, LabelSetId, NO_LABELS};

/// The label frames of each set seen so far.
#[derive(Default)]
pub struct LabelFrames {
    cache: FastMap<LabelSetId, Vec<FrameId>>,
}

impl LabelFrames {
    /// Pushes the label frames of set `id` (none for [`NO_LABELS`]) onto `stack`, interning
    /// them in `frames` the first time.
    pub fn push(&mut self, id: LabelSetId, frames: &mut FrameTable, stack: &mut Vec<FrameId>) {
        if id == NO_LABELS {
            return;
        }
        let ids = self.cache.entry(id).or_insert_with(|| {
            label_set(id)
                .iter()
                .map(|(key, value)| frames.intern(Frame::user_label(key, value)))
                .collect()
        });
        stack.extend_from_slice(ids);
    }
}
