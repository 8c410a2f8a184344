//! Keeping samples in time order ([`TimelineRecorder`] -> `flamegraph::Timeline`), beside
//! the [`Aggregator`](crate::Aggregator) that adds them up: the aggregator resolves each
//! sample's stack once ([`crate::resolve`]) and hands the recorder its number
//! ([`Aggregator::add`](crate::Aggregator::add) with a recorder, then
//! [`Aggregator::timeline`](crate::Aggregator::timeline)), so the aggregated profile
//! costs what it did when no timeline is asked for, and a timed format does not resolve
//! stacks twice.
//!
//! Each sample is kept as 24 bytes (time, weight, stack number, count) in its thread's
//! list. The timeline's stacks are the aggregator's, without the label and task frames at
//! their roots (the timeline formats show threads over time, not labels). Memory is bounded
//! by [`TimelineOptions::max_samples`]: when the kept samples reach it, every thread's
//! neighbouring samples are merged pairwise (the earlier one's time and stack, both
//! weights and counts) and from then on each kept sample takes in the next one too, and so
//! on, doubling each time. Totals per thread stay exactly the aggregated profile's; what
//! is lost is time resolution, and `Timeline::keep_one_in` records how much.

use std::sync::Arc;

use flamegraph::hash::FastMap;
use flamegraph::labels::label_prefix;
use flamegraph::{FrameId, FrameTable, ThreadTimeline, TimedSample, Timeline};
use sampler::{SampleHeader, ThreadEntry};

use crate::stacks::{StackId, StackTable};
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
    /// The most samples kept at once over all threads.
    pub max_samples: usize,
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

/// Builds a [`Timeline`] from the samples an [`Aggregator`](crate::Aggregator) numbered.
pub struct TimelineRecorder {
    options: TimelineOptions,
    threads: Vec<ThreadLine>,
    thread_index: FastMap<u32, usize>,
    keep_one_in: u32,
    kept: usize,
    taken: u64,
    start_monotonic_ns: u64,
}

impl TimelineRecorder {
    /// An empty recorder; times count from `start_monotonic_ns` (`CLOCK_MONOTONIC`).
    pub fn new(options: TimelineOptions, start_monotonic_ns: u64) -> TimelineRecorder {
        TimelineRecorder {
            options,
            threads: Vec::new(),
            thread_index: FastMap::default(),
            keep_one_in: 1,
            kept: 0,
            taken: 0,
            start_monotonic_ns,
        }
    }

    /// Keeps one sample of the thread at `index` ([`TimelineRecorder::thread_slot`]), whose
    /// stack the aggregator numbered `stack`.
    pub(crate) fn push(&mut self, index: usize, header: &SampleHeader, stack: StackId) {
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

    /// The index of `entry`'s thread in the recorder, adding it when new.
    pub(crate) fn thread_slot(&mut self, entry: &Arc<ThreadEntry>) -> usize {
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

    /// The timeline so far, with each thread's current name, its stacks those of `frames`
    /// and `stacks` (the resolver that numbered them: see
    /// [`Aggregator::timeline`](crate::Aggregator::timeline)); `start_unix_ns` is when
    /// `start_monotonic_ns` was, on the Unix clock.
    pub(crate) fn timeline(
        &self,
        frames: &FrameTable,
        stacks: &StackTable,
        start_unix_ns: u64,
        end_monotonic_ns: u64,
        command_line: &str,
    ) -> Timeline {
        let since_start = |ns: u64| ns.saturating_sub(self.start_monotonic_ns);
        Timeline {
            frames: frames.clone(),
            stacks: (0..stacks.len())
                .map(|id| without_roots(stacks.get(id as StackId), frames))
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

/// A stack without the label and task frames at its root.
fn without_roots(stack: &[FrameId], frames: &FrameTable) -> Vec<FrameId> {
    let labels = label_prefix(stack, frames);
    let task = stack[labels..]
        .first()
        .is_some_and(|&id| frames.get(id).task_name().is_some());
    stack[labels + usize::from(task)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Aggregator;
    use rustpython_vm::Context;
    use sampler::{RawFrame, SampleBatch, ThreadState};

    fn raw(name: &str, line: u32) -> RawFrame {
        let ctx = Context::genesis();
        RawFrame {
            qualname: ctx.intern_str(name) as *const _ as usize,
            filename: ctx.intern_str("app.py") as *const _ as usize,
            line,
            first_line: 1,
        }
    }

    /// An aggregator and a recorder it feeds.
    fn recorder(max_samples: usize) -> (Aggregator, TimelineRecorder) {
        let aggregator = Aggregator::new(
            crate::AggregateOptions {
                period_ns: 10,
                keep_idle: true,
                max_stacks: 100,
            },
            crate::Symbolizer::new(None),
        );
        let options = TimelineOptions {
            period_ns: 10,
            max_samples,
            cpu_mode: true,
        };
        (aggregator, TimelineRecorder::new(options, 1000))
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
        let (mut agg, mut rec) = recorder(1000);
        agg.add(&batch((0..10).map(|i| 1000 + i * 10)), Some(&mut rec));
        let timeline = agg.timeline(&rec, 5, 2000, "rpprof record x.py");
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
        let (mut agg, mut rec) = recorder(64);
        agg.add(&batch((0..1000).map(|i| 1000 + i * 10)), Some(&mut rec));
        let timeline = agg.timeline(&rec, 0, 20_000, "");
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
