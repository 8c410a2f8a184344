//! Building a [`Profile`] from sample batches: resolve frames (once per distinct raw frame),
//! turn each sample's weight into whole sampling periods, add both to its thread's stack.
//! Profiles carry two values per stack, in this order: samples (whole periods, see
//! [`SAMPLES_VALUE`]) and the weight in nanoseconds ([`TIME_VALUE`]); the session names the
//! time kind (CPU or wall).
//!
//! Memory is bounded: at most [`AggregateOptions::max_stacks`] distinct stacks are kept
//! (about 200 bytes each at depth 30, so about 40 MB at the default bound), plus their
//! frames and a fixed 400 KB cache of raw-stack fingerprints. Past the bound, samples of new stacks are added to an `[overflow]`
//! stack of their thread and counted, so totals stay right and nothing grows.

use std::sync::Arc;

use flamegraph::hash::FastMap;
use flamegraph::{FrameId, FrameTable, Profile, ProfileMeta, ThreadProfile, Values};
use sampler::{RawFrame, SampleBatch, SampleHeader, ThreadEntry, ThreadState};

use crate::allocs::AllocTotals;
use crate::names::Symbolizer;
use crate::resolve::StackResolver;
use crate::stacks::{StackFlags, StackId};
use crate::thread_ref::ThreadRef;
use crate::timeline::TimelineRecorder;
use crate::values::{SAMPLES_VALUE, TIME_VALUE};

mod ended;

pub use ended::MAX_ENDED_THREADS;

/// How samples become a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregateOptions {
    /// The sampling period: a sample's weight counts as `weight / period` samples.
    pub period_ns: u64,
    /// Keep samples taken while their thread was blocked, ending in an `[idle]` frame;
    /// otherwise they are dropped.
    pub keep_idle: bool,
    /// The most distinct stacks kept; see the module docs.
    pub max_stacks: usize,
}

/// The default bound on distinct stacks: about 40 MB of stacks at depth 30.
pub const DEFAULT_MAX_STACKS: usize = 200_000;

struct ThreadTotals {
    thread: ThreadRef,
    /// Ended threads added into this one to bound memory (0: a thread of its own; see
    /// [`ended`]).
    ended_members: u64,
    /// Weight not yet turned into whole samples.
    carry_ns: u64,
    /// Per stack: samples and weight, at [`SAMPLES_VALUE`] and [`TIME_VALUE`]; a pair
    /// rather than a [`Values`] vector keeps the map small on the hot path.
    counts: FastMap<StackId, [u64; 2]>,
}

/// Accumulates batches into a profile.
pub struct Aggregator {
    options: AggregateOptions,
    resolver: StackResolver,
    threads: Vec<ThreadTotals>,
    /// Threads of their own, by sampler key.
    thread_index: FastMap<u32, usize>,
    /// Threads added since ended threads were last looked for.
    new_threads: usize,
    raw_samples: u64,
    overflowed_samples: u64,
    allocs: AllocTotals,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(options: AggregateOptions, symbolizer: Symbolizer) -> Aggregator {
        Aggregator {
            options,
            resolver: StackResolver::new(options.max_stacks, symbolizer),
            threads: Vec::new(),
            thread_index: FastMap::default(),
            new_threads: 0,
            raw_samples: 0,
            overflowed_samples: 0,
            allocs: AllocTotals::default(),
        }
    }

    /// Samples received so far (before weighting).
    pub fn raw_samples(&self) -> u64 {
        self.raw_samples
    }

    /// Distinct frames resolved so far.
    pub fn frames_len(&self) -> usize {
        self.resolver.frames.len()
    }

    /// Distinct stacks held (kept across slices until the table is half full).
    pub fn stacks_len(&self) -> usize {
        self.resolver.stacks.len()
    }

    /// Threads held: live ones, ended ones not yet forgotten or folded, and groups' threads.
    pub fn threads_len(&self) -> usize {
        self.threads.len()
    }

    /// Samples that went to `[overflow]` because the stack bound was reached.
    pub fn overflowed_samples(&self) -> u64 {
        self.overflowed_samples
    }

    /// Weights sampled allocations for samples taken on average every `bytes` bytes
    /// (allocations in batches are ignored until this is set).
    pub fn set_alloc_interval(&mut self, bytes: u64) {
        self.allocs.interval = bytes;
    }

    /// Adds every sample of a batch; with a `timeline`, also keeps them there in time
    /// order, with the stacks numbered here (resolved once for both).
    pub fn add(&mut self, batch: &SampleBatch, mut timeline: Option<&mut TimelineRecorder>) {
        let index = self.thread_slot(&batch.thread);
        let line = timeline.as_mut().map(|t| t.thread_slot(&batch.thread));
        for (header, raw_frames) in batch.iter() {
            self.raw_samples += 1;
            let Some(id) = self.add_sample(index, header, raw_frames) else {
                continue;
            };
            // Waiting asyncio tasks are not the thread's own time: the timeline shows the
            // thread.
            if let (Some(timeline), Some(line)) = (timeline.as_deref_mut(), line) {
                if header.state != ThreadState::Awaiting {
                    timeline.push(line, &header, id);
                }
            }
        }
        if self.allocs.interval > 0 {
            for (header, raw_frames) in batch.iter_allocs() {
                let flags = StackFlags {
                    truncated: header.truncated,
                    idle: false,
                    awaiting: false,
                    task: None,
                    labels: sampler::labels::NO_LABELS,
                    call: sampler::RawCall::NONE,
                };
                let id = self.stack_id(flags, raw_frames);
                self.allocs.add(index, id, &header);
            }
        }
    }

    /// Forgets sampled blocks that have been freed, so that the next profile's in-use
    /// values are what is allocated now.
    pub fn sweep_freed(&mut self) {
        self.allocs.sweep_freed();
    }

    /// Counts a sample; returns its stack, or `None` when it is dropped (idle ones unless
    /// kept).
    fn add_sample(
        &mut self,
        index: usize,
        header: SampleHeader,
        raw_frames: &[RawFrame],
    ) -> Option<StackId> {
        let idle = header.state == ThreadState::Idle;
        let awaiting = header.state == ThreadState::Awaiting;
        if (idle || awaiting) && !self.options.keep_idle {
            return None;
        }
        let task = (!header.task.is_none()).then(|| self.resolver.task_frame(header.task));
        let flags = StackFlags {
            truncated: header.truncated,
            idle,
            awaiting,
            task,
            labels: header.labels,
            call: header.call,
        };
        let id = self.stack_id(flags, raw_frames);
        let thread = &mut self.threads[index];
        thread.carry_ns += header.weight_ns;
        let samples = thread.carry_ns / self.options.period_ns;
        thread.carry_ns -= samples * self.options.period_ns;
        let counts = thread.counts.entry(id).or_default();
        counts[SAMPLES_VALUE] = counts[SAMPLES_VALUE].saturating_add(samples);
        counts[TIME_VALUE] = counts[TIME_VALUE].saturating_add(header.weight_ns);
        Some(id)
    }

    /// The number of a raw stack, counting the samples that go to `[overflow]`.
    fn stack_id(&mut self, flags: StackFlags, raw_frames: &[RawFrame]) -> StackId {
        let id = self.resolver.stack_id(flags, raw_frames);
        if id == self.resolver.overflow {
            self.overflowed_samples += 1;
        }
        id
    }

    fn thread_slot(&mut self, entry: &Arc<ThreadEntry>) -> usize {
        if let Some(&index) = self.thread_index.get(&entry.key()) {
            return index;
        }
        // Before the new slot: looking for ended threads can renumber the others.
        self.after_new_thread();
        self.push_thread(ThreadRef::Live(entry.clone()), 0)
    }

    /// Adds a thread (or a group of ended ones: `ended_members > 0`); returns its index.
    fn push_thread(&mut self, thread: ThreadRef, ended_members: u64) -> usize {
        if ended_members == 0 {
            self.thread_index.insert(thread.key(), self.threads.len());
        }
        self.threads.push(ThreadTotals {
            thread,
            ended_members,
            carry_ns: 0,
            counts: FastMap::default(),
        });
        self.threads.len() - 1
    }

    /// The profile so far, with each thread's current name and CPU time since it was armed.
    /// It holds only the frames its stacks use, so its cost follows the stacks since the
    /// last [`Aggregator::clear_stacks`], not every frame ever resolved.
    pub fn profile(&self, meta: ProfileMeta) -> Profile {
        let mut profile = Profile::new(meta);
        let mut used: FastMap<FrameId, FrameId> = FastMap::default();
        let mut stack: Vec<FrameId> = Vec::new();
        let mut alloc_values = match self.allocs.interval {
            0 => Vec::new(),
            _ => self.allocs.values(self.threads.len()),
        };
        for (index, thread) in self.threads.iter().enumerate() {
            let mut out = ThreadProfile::new(&thread.thread.name(), thread.thread.tid());
            out.cpu_time_ns = Some(thread.thread.cpu_time_since_armed_ns());
            out.ended_members = thread.ended_members;
            let counts = thread
                .counts
                .iter()
                .map(|(&id, counts)| (id, Values::from_slice(counts)));
            let allocs = alloc_values
                .get_mut(index)
                .map(std::mem::take)
                .unwrap_or_default();
            for (id, values) in counts.chain(allocs) {
                stack.clear();
                for &frame in self.resolver.stacks.get(id) {
                    stack.push(*used.entry(frame).or_insert_with(|| {
                        copy_frame(&self.resolver.frames, frame, &mut profile.frames)
                    }));
                }
                out.add(&stack, values);
            }
            profile.threads.push(out);
        }
        profile
    }

    /// Moves the live sampled blocks, with their threads and stacks, into `fresh` (an
    /// aggregator that replaces this one), so in-use values survive the replacement.
    pub fn move_live_to(&mut self, fresh: &mut Aggregator) {
        fresh.allocs.interval = self.allocs.interval;
        for (id, mut block) in std::mem::take(&mut self.allocs.live) {
            let frames = self.resolver.stacks.get(block.stack);
            block.stack = fresh.resolver.stack_from(&self.resolver.frames, frames);
            block.thread = fresh.slot_like(&self.threads[block.thread]);
            fresh.allocs.live.insert(id, block);
        }
    }

    /// Starts a new slice: every count goes back to zero (frames and threads are kept). The
    /// stacks seen so far are kept too, with the cache that maps raw stacks to them, so a
    /// slice that repeats earlier stacks resolves none of them again and costs the same
    /// however many frames the program has shown. Once the table is half full it is
    /// emptied, so every slice has room for at least half the bound in new stacks.
    pub fn clear_stacks(&mut self) {
        for thread in &mut self.threads {
            thread.counts.clear();
        }
        self.allocs.clear_allocated();
        // Threads that ended have nothing more to count: only their live blocks keep them.
        self.forget_ended_threads();
        self.overflowed_samples = 0;
        let stacks = &self.resolver.stacks;
        if stacks.len() > self.options.max_stacks / 2 || stacks.is_full() {
            // Live sampled blocks keep their stacks: put them back in the emptied table.
            let live = self.allocs.live.values().map(|block| block.stack);
            let renamed = self.resolver.empty(live);
            for block in self.allocs.live.values_mut() {
                block.stack = renamed[&block.stack];
            }
        }
    }

    /// The samples `recorder` kept (fed by [`Aggregator::add`]) in time order, with this
    /// aggregator's frames and stacks; `start_unix_ns` is when the recorder's start was, on
    /// the Unix clock. Take it before [`Aggregator::clear_stacks`], which renumbers stacks.
    pub fn timeline(
        &self,
        recorder: &TimelineRecorder,
        start_unix_ns: u64,
        end_monotonic_ns: u64,
        command_line: &str,
    ) -> flamegraph::Timeline {
        recorder.timeline(
            &self.resolver.frames,
            &self.resolver.stacks,
            start_unix_ns,
            end_monotonic_ns,
            command_line,
        )
    }
}

fn copy_frame(from: &FrameTable, id: FrameId, to: &mut FrameTable) -> FrameId {
    to.intern(from.get(id).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::MAX_TASK_NAMES;
    use flamegraph::{AWAITING, OVERFLOW};
    use rustpython_vm::Context;
    use sampler::SampleHeader;

    fn raw(name: &str, line: u32) -> RawFrame {
        let ctx = Context::genesis();
        RawFrame {
            qualname: ctx.intern_str(name) as *const _ as usize,
            filename: ctx.intern_str("app.py") as *const _ as usize,
            line,
            first_line: 1,
        }
    }

    fn header(weight_ns: u64, state: ThreadState) -> SampleHeader {
        SampleHeader {
            time_ns: 0,
            weight_ns,
            state,
            truncated: false,
            task: sampler::TaskName::NONE,
            labels: 0,
            call: sampler::RawCall::NONE,
        }
    }

    fn entry() -> Arc<ThreadEntry> {
        std::thread::spawn(|| sampler::register_current_thread("worker", None))
            .join()
            .unwrap()
    }

    fn aggregator(max_stacks: usize, keep_idle: bool) -> Aggregator {
        Aggregator::new(
            AggregateOptions {
                period_ns: 10,
                keep_idle,
                max_stacks,
            },
            Symbolizer::new(None),
        )
    }

    fn labels(profile: &Profile, stack: &[FrameId]) -> Vec<String> {
        stack
            .iter()
            .map(|&id| profile.frames.get(id).label())
            .collect()
    }

    /// The first thread's stacks as frame labels with their sample counts, sorted.
    fn sorted_stacks(profile: &Profile) -> Vec<(Vec<String>, u64)> {
        let mut stacks: Vec<(Vec<String>, u64)> = profile.threads[0]
            .stacks
            .iter()
            .map(|(s, v)| (labels(profile, s), v.get(SAMPLES_VALUE)))
            .collect();
        stacks.sort();
        stacks
    }

    fn in_task(weight_ns: u64, state: ThreadState, task: &str) -> SampleHeader {
        SampleHeader {
            task: sampler::TaskName::from_bytes(task.as_bytes()),
            ..header(weight_ns, state)
        }
    }

    #[test]
    fn tasks_are_root_frames_and_waiting_tasks_end_in_awaiting() {
        let thread = entry();
        let mut batch = SampleBatch::new(thread);
        let stack = [raw("leaf", 9), raw("main", 3)];
        batch.push(
            in_task(10, ThreadState::Running, "fetch"),
            stack.iter().copied(),
        );
        batch.push(
            in_task(10, ThreadState::Running, "parse"),
            stack.iter().copied(),
        );
        batch.push(
            in_task(20, ThreadState::Awaiting, "fetch"),
            stack.iter().copied(),
        );
        batch.push(header(10, ThreadState::Running), stack.iter().copied());
        let mut agg = aggregator(100, true);
        agg.add(&batch, None);
        let profile = agg.profile(ProfileMeta::default());
        let stacks = sorted_stacks(&profile);
        let main = "main (app.py:3)".to_owned();
        let leaf = "leaf (app.py:9)".to_owned();
        assert_eq!(
            stacks,
            vec![
                (vec![main.clone(), leaf.clone()], 1),
                (vec!["task fetch".into(), main.clone(), leaf.clone()], 1),
                (
                    vec![
                        "task fetch".into(),
                        main.clone(),
                        leaf.clone(),
                        AWAITING.into()
                    ],
                    2
                ),
                (vec!["task parse".into(), main, leaf], 1),
            ]
        );
        // Waiting tasks are dropped with the idle samples.
        let mut no_idle = aggregator(100, false);
        no_idle.add(&batch, None);
        let profile = no_idle.profile(ProfileMeta::default());
        assert!(profile.threads[0]
            .stacks
            .keys()
            .all(|s| !profile.frames.get(*s.last().unwrap()).is_awaiting()));
    }

    #[test]
    fn task_names_past_the_bound_are_grouped() {
        let thread = entry();
        let mut batch = SampleBatch::new(thread);
        for n in 0..MAX_TASK_NAMES + 3 {
            batch.push(
                in_task(10, ThreadState::Running, &format!("Task-{n}")),
                [raw("f", 1)].into_iter(),
            );
        }
        let mut agg = aggregator(100_000, true);
        agg.add(&batch, None);
        let profile = agg.profile(ProfileMeta::default());
        let grouped = profile.threads[0]
            .stacks
            .iter()
            .find(|(s, _)| profile.frames.get(s[0]).task_name() == Some("Task-N"))
            .map(|(_, v)| v.get(SAMPLES_VALUE));
        assert_eq!(grouped, Some(3));
    }

    #[test]
    fn weights_become_whole_periods_and_markers_are_added() {
        let thread = entry();
        let mut batch = SampleBatch::new(thread.clone());
        let stack = [raw("leaf", 9), raw("main", 3)];
        batch.push(header(25, ThreadState::Running), stack.iter().copied());
        batch.push(header(5, ThreadState::Running), stack.iter().copied());
        batch.push(header(10, ThreadState::Idle), stack.iter().copied());
        batch.push(header(10, ThreadState::Running), std::iter::empty());
        let mut agg = aggregator(100, true);
        agg.add(&batch, None);
        let profile = agg.profile(ProfileMeta::default());
        let t = &profile.threads[0];
        assert_eq!(t.name, "worker");
        let mut stacks: Vec<(Vec<String>, Values)> = t
            .stacks
            .iter()
            .map(|(s, c)| (labels(&profile, s), *c))
            .collect();
        stacks.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            stacks,
            [
                (
                    vec!["[interpreter]".to_owned()],
                    Values::from_slice(&[1, 10])
                ),
                (
                    vec!["main (app.py:3)".to_owned(), "leaf (app.py:9)".to_owned()],
                    // 25 + 5 ns at a 10 ns period: 2 samples, then 3 (the carry adds up).
                    Values::from_slice(&[3, 30])
                ),
                (
                    vec![
                        "main (app.py:3)".to_owned(),
                        "leaf (app.py:9)".to_owned(),
                        "[idle]".to_owned()
                    ],
                    Values::from_slice(&[1, 10])
                ),
            ]
        );
        assert_eq!(agg.raw_samples(), 4);
    }

    #[test]
    fn labels_become_root_frames() {
        let thread = entry();
        let cart = sampler::labels::intern(&mut vec![
            ("tenant".to_owned(), "acme".to_owned()),
            ("endpoint".to_owned(), "/cart".to_owned()),
        ])
        .unwrap()
        .unwrap();
        let mut batch = SampleBatch::new(thread);
        let labelled = SampleHeader {
            labels: cart,
            ..header(10, ThreadState::Running)
        };
        batch.push(labelled, [raw("f", 1)].into_iter());
        batch.push(labelled, [raw("f", 1)].into_iter());
        batch.push(header(10, ThreadState::Running), [raw("f", 1)].into_iter());
        let mut agg = aggregator(100, true);
        agg.add(&batch, None);
        let profile = agg.profile(ProfileMeta::default());
        let stacks = sorted_stacks(&profile);
        assert_eq!(
            stacks,
            [
                (
                    vec![
                        "endpoint=/cart".to_owned(),
                        "tenant=acme".to_owned(),
                        "f (app.py:1)".to_owned()
                    ],
                    2
                ),
                (vec!["f (app.py:1)".to_owned()], 1),
            ]
        );
    }

    #[test]
    fn idle_samples_are_dropped_unless_kept() {
        let thread = entry();
        let mut batch = SampleBatch::new(thread);
        batch.push(header(10, ThreadState::Idle), [raw("wait", 1)].into_iter());
        let mut agg = aggregator(100, false);
        agg.add(&batch, None);
        assert!(agg.profile(ProfileMeta::default()).is_empty());
    }

    #[test]
    fn a_new_slice_starts_from_zero_and_keeps_known_stacks() {
        let thread = entry();
        let mut agg = aggregator(100, true);
        let mut batch = SampleBatch::new(thread.clone());
        batch.push(header(10, ThreadState::Running), [raw("f", 1)].into_iter());
        agg.add(&batch, None);
        agg.clear_stacks();
        assert!(
            agg.profile(ProfileMeta::default()).is_empty(),
            "counts start from zero"
        );
        let kept = agg.resolver.stacks.len();
        agg.add(&batch, None);
        assert_eq!(
            agg.resolver.stacks.len(),
            kept,
            "the known stack is found again"
        );
        let profile = agg.profile(ProfileMeta::default());
        assert_eq!(profile.total().get(SAMPLES_VALUE), 1);
        // Past half the bound, the table is emptied at the next slice.
        let mut many = SampleBatch::new(thread);
        for line in 0..60 {
            many.push(
                header(10, ThreadState::Running),
                [raw("g", line)].into_iter(),
            );
        }
        agg.add(&many, None);
        agg.clear_stacks();
        assert_eq!(agg.resolver.stacks.len(), 1, "only [overflow] is left");
    }

    #[test]
    fn past_the_bound_new_stacks_go_to_overflow() {
        let thread = entry();
        let mut batch = SampleBatch::new(thread);
        for line in 0..10 {
            batch.push(
                header(10, ThreadState::Running),
                [raw("f", line)].into_iter(),
            );
        }
        batch.push(header(10, ThreadState::Running), [raw("f", 0)].into_iter());
        // An overflowed stack seen again (now from the cache) is counted again.
        batch.push(header(10, ThreadState::Running), [raw("f", 9)].into_iter());
        let mut agg = aggregator(4, true);
        agg.add(&batch, None);
        let profile = agg.profile(ProfileMeta::default());
        let t = &profile.threads[0];
        assert_eq!(t.stacks.len(), 5, "4 kept stacks and [overflow]");
        assert_eq!(t.total().get(SAMPLES_VALUE), 12, "no sample is lost");
        assert_eq!(agg.overflowed_samples(), 7);
        let overflow = t
            .stacks
            .iter()
            .find(|(s, _)| profile.frames.get(s[0]).function == OVERFLOW)
            .unwrap();
        assert_eq!(overflow.1.get(SAMPLES_VALUE), 7);
        assert_eq!(
            profile.frames.len(),
            5,
            "only the frames its stacks use: f at four lines, [overflow]"
        );
    }
}
