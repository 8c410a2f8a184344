//! Keeping samples in time order ([`TimelineRecorder`] -> `flamegraph::Timeline`), beside
//! the [`Aggregator`](crate::Aggregator) that adds them up: a stage of its own, fed the same
//! batches, so the aggregated profile costs what it did when no timeline is asked for.
//!
//! Each sample is kept as 24 bytes (time, weight, stack number, count) in its thread's
//! list; stacks are resolved and numbered once, as the aggregator does. Memory is bounded
//! by [`TimelineOptions::max_samples`]: when the kept samples reach it, every thread's
//! neighbouring samples are merged pairwise (the earlier one's time and stack, both
//! weights and counts) and from then on each kept sample takes in the next one too, and so
//! on, doubling each time. Totals per thread stay exactly the aggregated profile's; what
//! is lost is time resolution, and `Timeline::keep_one_in` records how much.

use std::sync::Arc;

use flamegraph::hash::FastMap;
use flamegraph::{
    Frame, FrameId, FrameTable, ThreadTimeline, TimedSample, Timeline, INTERPRETER, OVERFLOW,
    TRUNCATED,
};
use sampler::{RawFrame, SampleBatch, SampleHeader, ThreadEntry, ThreadState};

use crate::calls::LeafMarkers;
use crate::names::Symbolizer;
use crate::stacks::{Fingerprint, RawStackCache, StackFlags, StackId, StackTable};
use crate::thread_ref::{ThreadRef, SETTLE_EVERY};

/// The default budget of kept samples: about 48 MB of samples (24 bytes each), half an
/// hour of ten busy threads at 99 Hz before any merging.
pub const DEFAULT_TIMELINE_SAMPLES: usize = 2_000_000;

/// How samples are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineOptions {
    /// The sampling period (a weight counts as `weight / period` samples, as in the
    /// aggregator).
    pub period_ns: u64,
    /// Keep samples of blocked threads (with an `[idle]` leaf).
    pub keep_idle: bool,
    /// The most samples kept at once over all threads.
    pub max_samples: usize,
    /// The most distinct stacks; samples of others get an `[overflow]` stack.
    pub max_stacks: usize,
    /// Weights are CPU time (CPU mode) rather than wall time.
    pub cpu_mode: bool,
}

struct ThreadLine {
    thread: ThreadRef,
    carry_ns: u64,
    /// Samples taken into the last kept one since it was kept (0 = it stands alone).
    merged_into_last: u32,
    samples: Vec<TimedSample>,
}

/// Builds a [`Timeline`] from sample batches.
pub struct TimelineRecorder {
    options: TimelineOptions,
    symbolizer: Symbolizer,
    frames: FrameTable,
    frame_ids: FastMap<RawFrame, FrameId>,
    stacks: StackTable,
    cache: RawStackCache,
    threads: Vec<ThreadLine>,
    thread_index: FastMap<u32, usize>,
    markers: [FrameId; 2],
    leaves: LeafMarkers,
    overflow: StackId,
    stack: Vec<FrameId>,
    keep_one_in: u32,
    kept: usize,
    taken: u64,
    start_monotonic_ns: u64,
}

impl TimelineRecorder {
    /// An empty recorder; times count from `start_monotonic_ns` (`CLOCK_MONOTONIC`).
    pub fn new(
        options: TimelineOptions,
        symbolizer: Symbolizer,
        start_monotonic_ns: u64,
    ) -> TimelineRecorder {
        let mut frames = FrameTable::new();
        let markers = [TRUNCATED, INTERPRETER].map(|m| frames.intern(Frame::marker(m)));
        let leaves = LeafMarkers::new(&mut frames);
        let overflow_frame = frames.intern(Frame::marker(OVERFLOW));
        let mut stacks = StackTable::new(options.max_stacks.saturating_add(1));
        let overflow = stacks
            .intern(&[overflow_frame])
            .expect("an empty table has room");
        TimelineRecorder {
            options,
            symbolizer,
            frames,
            frame_ids: FastMap::default(),
            stacks,
            cache: RawStackCache::new(),
            threads: Vec::new(),
            thread_index: FastMap::default(),
            markers,
            leaves,
            overflow,
            stack: Vec::with_capacity(256),
            keep_one_in: 1,
            kept: 0,
            taken: 0,
            start_monotonic_ns,
        }
    }

    /// Adds every sample of a batch, in order.
    pub fn add(&mut self, batch: &SampleBatch) {
        let index = self.thread_slot(&batch.thread);
        for (header, raw_frames) in batch.iter() {
            self.add_sample(index, header, raw_frames);
        }
    }

    fn add_sample(&mut self, index: usize, header: SampleHeader, raw_frames: &[RawFrame]) {
        // Waiting asyncio tasks are not the thread's own time: the timeline shows the thread.
        if header.state == ThreadState::Awaiting {
            return;
        }
        let idle = header.state == ThreadState::Idle;
        if idle && !self.options.keep_idle {
            return;
        }
        // The timeline formats show threads over time, not labels.
        let flags = StackFlags {
            truncated: header.truncated,
            idle,
            awaiting: false,
            task: None,
            labels: sampler::labels::NO_LABELS,
            call: header.call,
        };
        let print = Fingerprint::of(raw_frames, flags);
        let stack = match self.cache.get(print) {
            Some(id) => id,
            None => {
                let id = self.resolve(flags, raw_frames).unwrap_or(self.overflow);
                self.cache.insert(print, id);
                id
            }
        };
        self.taken += 1;
        let period = self.options.period_ns;
        let time_ns = header.time_ns.saturating_sub(self.start_monotonic_ns);
        let keep_one_in = self.keep_one_in;
        let thread = &mut self.threads[index];
        thread.carry_ns += header.weight_ns;
        let count = thread.carry_ns / period;
        thread.carry_ns -= count * period;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        match thread.samples.last_mut() {
            Some(last) if thread.merged_into_last + 1 < keep_one_in => {
                last.weight_ns = last.weight_ns.saturating_add(header.weight_ns);
                last.count = last.count.saturating_add(count);
                thread.merged_into_last += 1;
            }
            _ => {
                thread.samples.push(TimedSample {
                    time_ns,
                    weight_ns: header.weight_ns,
                    stack,
                    count,
                });
                thread.merged_into_last = 0;
                self.kept += 1;
                if self.kept >= self.options.max_samples {
                    self.halve();
                }
            }
        }
    }

    /// Merges every thread's neighbouring samples pairwise, and doubles how many taken
    /// samples each kept one takes in from now on.
    fn halve(&mut self) {
        self.keep_one_in = self.keep_one_in.saturating_mul(2);
        self.kept = 0;
        for thread in &mut self.threads {
            let samples = &mut thread.samples;
            let pairs = samples.len().div_ceil(2);
            for i in 0..pairs {
                let mut merged = samples[2 * i];
                if let Some(next) = samples.get(2 * i + 1) {
                    merged.weight_ns = merged.weight_ns.saturating_add(next.weight_ns);
                    merged.count = merged.count.saturating_add(next.count);
                }
                samples[i] = merged;
            }
            // The next sample starts a kept one of its own.
            thread.merged_into_last = self.keep_one_in - 1;
            samples.truncate(pairs);
            samples.shrink_to(pairs.max(16) * 2);
            self.kept += pairs;
        }
    }

    fn resolve(&mut self, flags: StackFlags, raw_frames: &[RawFrame]) -> Option<StackId> {
        let [truncated, interpreter] = self.markers;
        self.stack.clear();
        if flags.truncated {
            self.stack.push(truncated);
        }
        if !self.symbolizer.push_frames(
            raw_frames,
            &mut self.frame_ids,
            &mut self.frames,
            self.stacks.is_full(),
            &mut self.stack,
        ) {
            return None;
        }
        if raw_frames.is_empty() {
            self.stack.push(interpreter);
        }
        if let Some(leaf) = self.leaves.leaf(
            flags.idle,
            flags.call,
            &mut self.symbolizer,
            &mut self.frames,
        ) {
            self.stack.push(leaf);
        }
        self.stacks.intern(&self.stack)
    }

    fn thread_slot(&mut self, entry: &Arc<ThreadEntry>) -> usize {
        if let Some(&index) = self.thread_index.get(&entry.key()) {
            return index;
        }
        if self.threads.len() % SETTLE_EVERY == SETTLE_EVERY - 1 {
            for line in &mut self.threads {
                line.thread.settle();
            }
        }
        self.threads.push(ThreadLine {
            thread: ThreadRef::Live(entry.clone()),
            carry_ns: 0,
            merged_into_last: 0,
            samples: Vec::new(),
        });
        self.thread_index
            .insert(entry.key(), self.threads.len() - 1);
        self.threads.len() - 1
    }

    /// The timeline so far, with each thread's current name; `start_unix_ns` is when
    /// `start_monotonic_ns` was, on the Unix clock.
    pub fn timeline(
        &self,
        start_unix_ns: u64,
        end_monotonic_ns: u64,
        command_line: &str,
    ) -> Timeline {
        let since_start = |ns: u64| ns.saturating_sub(self.start_monotonic_ns);
        Timeline {
            frames: self.frames.clone(),
            stacks: (0..self.stacks.len())
                .map(|id| self.stacks.get(id as StackId).to_vec())
                .collect(),
            threads: self
                .threads
                .iter()
                .map(|t| ThreadTimeline {
                    name: t.thread.name(),
                    tid: t.thread.tid(),
                    start_ns: since_start(t.thread.started_ns()),
                    end_ns: t.thread.exited_ns().map(since_start),
                    cpu_ns: Some(t.thread.cpu_time_since_armed_ns()),
                    samples: t.samples.clone(),
                })
                .collect(),
            start_unix_ns,
            duration_ns: since_start(end_monotonic_ns),
            keep_one_in: self.keep_one_in,
            max_samples: self.options.max_samples,
            samples_taken: self.taken,
            cpu_mode: self.options.cpu_mode,
            command_line: command_line.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustpython_vm::Context;

    fn raw(name: &str, line: u32) -> RawFrame {
        let ctx = Context::genesis();
        RawFrame {
            qualname: ctx.intern_str(name) as *const _ as usize,
            filename: ctx.intern_str("app.py") as *const _ as usize,
            line,
            first_line: 1,
        }
    }

    fn recorder(max_samples: usize) -> TimelineRecorder {
        TimelineRecorder::new(
            TimelineOptions {
                period_ns: 10,
                keep_idle: true,
                max_samples,
                max_stacks: 100,
                cpu_mode: true,
            },
            Symbolizer::new(None),
            1000,
        )
    }

    fn batch(times: impl Iterator<Item = u64>) -> SampleBatch {
        let entry = std::thread::spawn(|| sampler::register_current_thread("worker", None))
            .join()
            .unwrap();
        let mut batch = SampleBatch::new(entry);
        for (i, time_ns) in times.enumerate() {
            let header = SampleHeader {
                time_ns,
                weight_ns: 10,
                state: if i % 3 == 0 {
                    ThreadState::Idle
                } else {
                    ThreadState::Running
                },
                truncated: false,
                task: sampler::TaskName::NONE,
                labels: 0,
                call: sampler::RawCall::NONE,
            };
            batch.push(header, [raw("f", i as u32 % 4)].into_iter());
        }
        batch
    }

    #[test]
    fn samples_keep_their_order_times_and_stacks() {
        let mut rec = recorder(1000);
        rec.add(&batch((0..10).map(|i| 1000 + i * 10)));
        let timeline = rec.timeline(5, 2000, "rpprof record x.py");
        let thread = &timeline.threads[0];
        assert_eq!(thread.name, "worker");
        let times: Vec<u64> = thread.samples.iter().map(|s| s.time_ns).collect();
        assert_eq!(times, (0..10).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(thread.count(), 10);
        let idle_leaf = |s: &TimedSample| {
            let stack = &timeline.stacks[s.stack as usize];
            timeline.frames.get(*stack.last().unwrap()).is_idle()
        };
        assert!(idle_leaf(&thread.samples[0]) && !idle_leaf(&thread.samples[1]));
        assert_eq!(timeline.keep_one_in, 1);
        assert_eq!(timeline.duration_ns, 1000);
        assert!(thread.end_ns.is_some(), "the thread has exited");
    }

    #[test]
    fn past_the_budget_samples_merge_and_totals_stay() {
        let mut rec = recorder(64);
        rec.add(&batch((0..1000).map(|i| 1000 + i * 10)));
        let timeline = rec.timeline(0, 20_000, "");
        let thread = &timeline.threads[0];
        assert!(thread.samples.len() <= 64, "{}", thread.samples.len());
        assert!(timeline.keep_one_in >= 16, "{}", timeline.keep_one_in);
        assert_eq!(thread.count(), 1000, "every sample is counted");
        assert_eq!(
            thread.samples.iter().map(|s| s.weight_ns).sum::<u64>(),
            10_000
        );
        assert!(thread
            .samples
            .windows(2)
            .all(|w| w[0].time_ns < w[1].time_ns));
        assert_eq!(timeline.samples_taken, 1000);
    }
}
