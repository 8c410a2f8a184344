//! What the drain thread sends on: one thread's samples since the previous drain.

use std::sync::Arc;

use crate::alloc::record::AllocHeader;
use crate::raw::{RawFrame, RawSample, SampleHeader};
use crate::registry::ThreadEntry;

/// Samples of one thread, in the order they were taken, with one shared frame table.
pub struct SampleBatch {
    /// The thread they were taken on.
    pub thread: Arc<ThreadEntry>,
    /// Headers and frame ranges.
    pub samples: Vec<RawSample>,
    /// Every sample's frames, innermost first, back to back.
    pub frames: Vec<RawFrame>,
    /// Its sampled allocations (frames in the same table), when allocation sampling runs.
    pub allocs: Vec<AllocSample>,
}

/// One sampled allocation as the drain thread hands it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocSample {
    /// Size, id, time, flags.
    pub header: AllocHeader,
    /// Start of its frames in the batch's frame table.
    pub frames_start: u32,
    /// Number of frames.
    pub depth: u32,
}

impl SampleBatch {
    /// An empty batch for `thread`.
    pub fn new(thread: Arc<ThreadEntry>) -> SampleBatch {
        SampleBatch {
            thread,
            samples: Vec::new(),
            frames: Vec::new(),
            allocs: Vec::new(),
        }
    }

    /// Appends one sample.
    pub fn push(&mut self, header: SampleHeader, frames: impl Iterator<Item = RawFrame>) {
        let start = self.frames.len();
        self.frames.extend(frames);
        self.samples.push(RawSample {
            header,
            frames_start: start as u32,
            depth: (self.frames.len() - start) as u32,
        });
    }

    /// Appends a sample whose frames are already in the batch (a repeat of an earlier one).
    pub fn push_repeat(&mut self, header: SampleHeader, frames_start: u32, depth: u32) {
        self.samples.push(RawSample {
            header,
            frames_start,
            depth,
        });
    }

    /// Appends frames without a sample (for repeats of a sample from an earlier batch);
    /// returns where they start.
    pub fn push_frames(&mut self, frames: &[RawFrame]) -> u32 {
        let start = self.frames.len() as u32;
        self.frames.extend_from_slice(frames);
        start
    }

    /// Each sample's header and frames (innermost first).
    pub fn iter(&self) -> impl Iterator<Item = (SampleHeader, &[RawFrame])> + '_ {
        self.samples.iter().map(|s| {
            let start = s.frames_start as usize;
            (s.header, &self.frames[start..start + s.depth as usize])
        })
    }

    /// Appends one sampled allocation.
    pub fn push_alloc(&mut self, header: AllocHeader, frames: impl Iterator<Item = RawFrame>) {
        let start = self.frames.len();
        self.frames.extend(frames);
        self.allocs.push(AllocSample {
            header,
            frames_start: start as u32,
            depth: (self.frames.len() - start) as u32,
        });
    }

    /// Each sampled allocation's header and frames (innermost first).
    pub fn iter_allocs(&self) -> impl Iterator<Item = (AllocHeader, &[RawFrame])> + '_ {
        self.allocs.iter().map(|a| {
            let start = a.frames_start as usize;
            (a.header, &self.frames[start..start + a.depth as usize])
        })
    }

    /// True when there are no samples and no sampled allocations.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.allocs.is_empty()
    }
}
