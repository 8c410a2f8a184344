//! Building a [`Profile`] from sample batches: resolve frames (once per distinct raw frame),
//! turn each sample's weight into whole sampling periods, add it to its thread's stack.

use std::collections::HashMap;
use std::sync::Arc;

use flamegraph::{
    Frame, FrameId, Profile, ProfileMeta, StackCounts, ThreadProfile, IDLE, INTERPRETER, TRUNCATED,
};
use sampler::{RawFrame, SampleBatch, ThreadEntry, ThreadState};

use crate::names::Symbolizer;

/// How samples become a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregateOptions {
    /// The sampling period: a sample's weight counts as `weight / period` samples.
    pub period_ns: u64,
    /// Keep samples taken while their thread was blocked, ending in an `[idle]` frame;
    /// otherwise they are dropped.
    pub keep_idle: bool,
}

struct ThreadTotals {
    entry: Arc<ThreadEntry>,
    /// Weight not yet turned into whole samples.
    carry_ns: u64,
    profile: ThreadProfile,
}

/// Accumulates batches into a profile.
pub struct Aggregator {
    options: AggregateOptions,
    symbolizer: Symbolizer,
    frames: flamegraph::FrameTable,
    frame_ids: HashMap<RawFrame, FrameId>,
    threads: Vec<ThreadTotals>,
    thread_index: HashMap<u32, usize>,
    truncated: FrameId,
    idle: FrameId,
    interpreter: FrameId,
    stack: Vec<FrameId>,
    raw_samples: u64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(options: AggregateOptions, symbolizer: Symbolizer) -> Aggregator {
        let mut frames = flamegraph::FrameTable::new();
        let truncated = frames.intern(Frame::marker(TRUNCATED));
        let idle = frames.intern(Frame::marker(IDLE));
        let interpreter = frames.intern(Frame::marker(INTERPRETER));
        Aggregator {
            options,
            symbolizer,
            frames,
            frame_ids: HashMap::new(),
            threads: Vec::new(),
            thread_index: HashMap::new(),
            truncated,
            idle,
            interpreter,
            stack: Vec::with_capacity(256),
            raw_samples: 0,
        }
    }

    /// Samples received so far (before weighting).
    pub fn raw_samples(&self) -> u64 {
        self.raw_samples
    }

    /// Adds every sample of a batch.
    pub fn add(&mut self, batch: &SampleBatch) {
        let index = self.thread_slot(&batch.thread);
        for (header, raw_frames) in batch.iter() {
            self.raw_samples += 1;
            let idle = header.state == ThreadState::Idle;
            if idle && !self.options.keep_idle {
                continue;
            }
            self.stack.clear();
            if header.truncated {
                self.stack.push(self.truncated);
            }
            for raw in raw_frames.iter().rev() {
                let id = match self.frame_ids.get(raw) {
                    Some(&id) => id,
                    None => {
                        let id = self.frames.intern(self.symbolizer.resolve(raw));
                        self.frame_ids.insert(*raw, id);
                        id
                    }
                };
                self.stack.push(id);
            }
            if raw_frames.is_empty() {
                self.stack.push(self.interpreter);
            }
            if idle {
                self.stack.push(self.idle);
            }
            let thread = &mut self.threads[index];
            thread.carry_ns += header.weight_ns;
            let samples = thread.carry_ns / self.options.period_ns;
            thread.carry_ns -= samples * self.options.period_ns;
            thread.profile.add(
                &self.stack,
                StackCounts {
                    samples,
                    weight_ns: header.weight_ns,
                },
            );
        }
    }

    fn thread_slot(&mut self, entry: &Arc<ThreadEntry>) -> usize {
        if let Some(&index) = self.thread_index.get(&entry.key()) {
            return index;
        }
        self.threads.push(ThreadTotals {
            entry: entry.clone(),
            carry_ns: 0,
            profile: ThreadProfile::new(&entry.name(), entry.tid()),
        });
        self.thread_index
            .insert(entry.key(), self.threads.len() - 1);
        self.threads.len() - 1
    }

    /// The profile so far, with each thread's current name and CPU time.
    pub fn profile(&self, meta: ProfileMeta) -> Profile {
        let mut profile = Profile::new(meta);
        profile.frames = self.frames.clone();
        for thread in &self.threads {
            let mut out = thread.profile.clone();
            out.name = thread.entry.name();
            out.cpu_time_ns = Some(thread.entry.cpu_time_since_armed_ns());
            profile.threads.push(out);
        }
        profile
    }

    /// Empties the stacks (keeping frames and threads): the start of a new window.
    pub fn clear_stacks(&mut self) {
        for thread in &mut self.threads {
            thread.profile.stacks.clear();
        }
    }
}
