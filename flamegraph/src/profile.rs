//! The aggregated, thread-aware profile every writer reads: per thread, how much time each
//! distinct stack got.

use crate::frame::{Frame, FrameId, FrameTable, OVERFLOW};
use crate::hash::FastMap;

/// What the sample weights measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TimeKind {
    /// CPU time of the threads.
    #[default]
    Cpu,
    /// Wall-clock time, running or blocked.
    Wall,
}

impl TimeKind {
    /// `cpu` or `wall`.
    pub fn label(self) -> &'static str {
        match self {
            TimeKind::Cpu => "cpu",
            TimeKind::Wall => "wall",
        }
    }
}

/// Facts about a recording as a whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileMeta {
    /// What was profiled (the script's name), used as a title.
    pub title: String,
    /// CPU or wall time.
    pub time: TimeKind,
    /// Samples per second per thread; 0 when unknown (a folded file from elsewhere).
    pub rate_hz: u32,
    /// When the recording started, in nanoseconds since the Unix epoch (0 when unknown).
    pub start_unix_ns: u64,
    /// How long it ran, in nanoseconds.
    pub duration_ns: u64,
    /// Samples lost because a buffer was full.
    pub dropped: u64,
    /// Samples whose stacks were past the bound on distinct stacks, kept in `[overflow]`.
    pub overflowed: u64,
}

impl ProfileMeta {
    /// The time one sample stands for, in nanoseconds (10 ms when the rate is unknown).
    pub fn period_ns(&self) -> u64 {
        if self.rate_hz == 0 {
            10_000_000
        } else {
            1_000_000_000 / u64::from(self.rate_hz)
        }
    }
}

/// The most samples a parsed profile may hold in all: 2^53, some 285,000 years of samples at
/// 1 kHz. Parsers reject files whose counts add up to more, so that sums in the writers (ours
/// and inferno's) cannot overflow; [`StackCounts::add`] saturates besides.
pub const MAX_SAMPLES: u64 = 1 << 53;

/// Counts for one stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackCounts {
    /// Samples: the stack's time in whole sampling periods. This is what folded stacks and
    /// flamegraphs count.
    pub samples: u64,
    /// The stack's time in nanoseconds (CPU or wall, per [`TimeKind`]).
    pub weight_ns: u64,
}

impl StackCounts {
    /// Adds `other` to these counts, saturating: a count that would pass `u64::MAX` (only
    /// reachable from hostile input files) stays there instead of wrapping.
    pub fn add(&mut self, other: StackCounts) {
        self.samples = self.samples.saturating_add(other.samples);
        self.weight_ns = self.weight_ns.saturating_add(other.weight_ns);
    }
}

/// One thread's stacks. Stacks are root first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadProfile {
    /// The thread's name as the program set it (`MainThread`, `worker-1`).
    pub name: String,
    /// Its kernel thread id; 0 when unknown or when threads were merged.
    pub tid: i32,
    /// CPU time the thread used while it was recorded, from its own CPU clock, if known.
    pub cpu_time_ns: Option<u64>,
    /// Counts per distinct stack (root first).
    pub stacks: FastMap<Vec<FrameId>, StackCounts>,
}

impl ThreadProfile {
    /// An empty thread.
    pub fn new(name: &str, tid: i32) -> ThreadProfile {
        ThreadProfile {
            name: name.to_owned(),
            tid,
            ..ThreadProfile::default()
        }
    }

    /// Adds counts to a stack.
    pub fn add(&mut self, stack: &[FrameId], counts: StackCounts) {
        match self.stacks.get_mut(stack) {
            Some(existing) => existing.add(counts),
            None => {
                self.stacks.insert(stack.to_vec(), counts);
            }
        }
    }

    /// The sum over all stacks.
    pub fn total(&self) -> StackCounts {
        let mut total = StackCounts::default();
        for counts in self.stacks.values() {
            total.add(*counts);
        }
        total
    }

    /// The root frame writers give the thread: `name (tid N)`, or just the name without a tid.
    pub fn label(&self) -> String {
        if self.tid == 0 {
            self.name.clone()
        } else {
            format!("{} (tid {})", self.name, self.tid)
        }
    }
}

/// A whole profile: shared frames, then one [`ThreadProfile`] per thread.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// Facts about the recording.
    pub meta: ProfileMeta,
    /// Every frame the stacks refer to.
    pub frames: FrameTable,
    /// The threads, in the order they were first seen.
    pub threads: Vec<ThreadProfile>,
}

/// The name of the single thread of a profile whose threads were merged.
pub const ALL_THREADS: &str = "all threads";

impl Profile {
    /// An empty profile.
    pub fn new(meta: ProfileMeta) -> Profile {
        Profile {
            meta,
            ..Profile::default()
        }
    }

    /// The sum over all threads.
    pub fn total(&self) -> StackCounts {
        let mut total = StackCounts::default();
        for thread in &self.threads {
            total.add(thread.total());
        }
        total
    }

    /// True when no stack has any time.
    pub fn is_empty(&self) -> bool {
        self.threads.iter().all(|t| t.stacks.is_empty())
    }

    /// The thread with this name and tid, created if missing.
    pub fn thread_mut(&mut self, name: &str, tid: i32) -> &mut ThreadProfile {
        let index = self.thread_index(name, tid);
        &mut self.threads[index]
    }

    /// The index of the thread with this name and tid, created if missing.
    fn thread_index(&mut self, name: &str, tid: i32) -> usize {
        match self
            .threads
            .iter()
            .position(|t| t.name == name && t.tid == tid)
        {
            Some(index) => index,
            None => {
                self.threads.push(ThreadProfile::new(name, tid));
                self.threads.len() - 1
            }
        }
    }

    /// Adds another profile's stacks to this one (threads with the same name and tid merge).
    /// The metadata of `self` is kept, with durations and drops added and the earlier start.
    pub fn merge(&mut self, other: &Profile) {
        self.merge_bounded(other, usize::MAX);
    }

    /// [`Profile::merge`], keeping at most `max_stacks` distinct stacks over all threads:
    /// samples of stacks past the bound go to an `[overflow]` stack of their thread. Returns
    /// how many samples went there (also added to `meta.overflowed`).
    pub fn merge_bounded(&mut self, other: &Profile, max_stacks: usize) -> u64 {
        let meta = &mut self.meta;
        meta.duration_ns = meta.duration_ns.saturating_add(other.meta.duration_ns);
        meta.dropped = meta.dropped.saturating_add(other.meta.dropped);
        meta.overflowed = meta.overflowed.saturating_add(other.meta.overflowed);
        if self.meta.rate_hz == 0 {
            self.meta.rate_hz = other.meta.rate_hz;
        }
        if self.meta.start_unix_ns == 0
            || (other.meta.start_unix_ns != 0 && other.meta.start_unix_ns < self.meta.start_unix_ns)
        {
            self.meta.start_unix_ns = other.meta.start_unix_ns;
        }
        let remap: Vec<FrameId> = other
            .frames
            .iter()
            .map(|(_, frame)| self.frames.intern(frame.clone()))
            .collect();
        let mut overflow: Option<FrameId> = None;
        let mut distinct: usize = self.threads.iter().map(|t| t.stacks.len()).sum();
        let mut overflowed = 0;
        let mut mapped: Vec<FrameId> = Vec::new();
        for thread in &other.threads {
            let cpu = thread.cpu_time_ns;
            let index = self.thread_index(&thread.name, thread.tid);
            let (frames, target) = (&mut self.frames, &mut self.threads[index]);
            target.cpu_time_ns = match (target.cpu_time_ns, cpu) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                (a, b) => a.or(b),
            };
            for (stack, counts) in &thread.stacks {
                mapped.clear();
                mapped.extend(stack.iter().map(|&id| remap[id as usize]));
                if let Some(existing) = target.stacks.get_mut(mapped.as_slice()) {
                    existing.add(*counts);
                } else if distinct < max_stacks {
                    distinct += 1;
                    target.stacks.insert(mapped.clone(), *counts);
                } else {
                    overflowed = counts.samples.saturating_add(overflowed);
                    let id =
                        *overflow.get_or_insert_with(|| frames.intern(Frame::marker(OVERFLOW)));
                    target.add(&[id], *counts);
                }
            }
        }
        self.meta.overflowed = self.meta.overflowed.saturating_add(overflowed);
        overflowed
    }

    /// Drops frames no stack refers to (renumbering the rest).
    pub fn compact(&self) -> Profile {
        let mut used = vec![false; self.frames.len()];
        for thread in &self.threads {
            for stack in thread.stacks.keys() {
                for &id in stack {
                    used[id as usize] = true;
                }
            }
        }
        let mut compacted = Profile::new(self.meta.clone());
        let remap: Vec<Option<FrameId>> = self
            .frames
            .iter()
            .map(|(id, frame)| used[id as usize].then(|| compacted.frames.intern(frame.clone())))
            .collect();
        for thread in &self.threads {
            let mut target = ThreadProfile::new(&thread.name, thread.tid);
            target.cpu_time_ns = thread.cpu_time_ns;
            for (stack, counts) in &thread.stacks {
                let stack: Vec<FrameId> = stack
                    .iter()
                    .map(|&id| remap[id as usize].expect("used frame"))
                    .collect();
                target.add(&stack, *counts);
            }
            compacted.threads.push(target);
        }
        compacted
    }

    /// The same profile with every thread's stacks added into one thread, [`ALL_THREADS`].
    pub fn merged_threads(&self) -> Profile {
        let mut merged = Profile::new(self.meta.clone());
        merged.frames = self.frames.clone();
        let mut all = ThreadProfile::new(ALL_THREADS, 0);
        let cpu: Vec<u64> = self.threads.iter().filter_map(|t| t.cpu_time_ns).collect();
        all.cpu_time_ns =
            (!cpu.is_empty()).then(|| cpu.iter().fold(0u64, |a, &b| a.saturating_add(b)));
        for thread in &self.threads {
            for (stack, counts) in &thread.stacks {
                all.add(stack, *counts);
            }
        }
        merged.threads.push(all);
        merged
    }

    /// The same profile with each function's lines folded into one frame.
    pub fn by_function(&self) -> Profile {
        self.map_frames(Frame::without_line)
    }

    /// The same profile with every frame replaced by `map(frame)`; stacks that become equal
    /// merge.
    pub fn map_frames(&self, map: impl Fn(&Frame) -> Frame) -> Profile {
        let mut mapped = Profile::new(self.meta.clone());
        let remap: Vec<FrameId> = self
            .frames
            .iter()
            .map(|(_, frame)| mapped.frames.intern(map(frame)))
            .collect();
        for thread in &self.threads {
            let mut target = ThreadProfile::new(&thread.name, thread.tid);
            target.cpu_time_ns = thread.cpu_time_ns;
            for (stack, counts) in &thread.stacks {
                let stack: Vec<FrameId> = stack.iter().map(|&id| remap[id as usize]).collect();
                target.add(&stack, *counts);
            }
            mapped.threads.push(target);
        }
        mapped
    }

    /// Keeps only the threads for which `keep` holds.
    pub fn retain_threads(&mut self, keep: impl Fn(&ThreadProfile) -> bool) {
        self.threads.retain(|t| keep(t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_profile() -> Profile {
        let mut profile = Profile::new(ProfileMeta {
            title: "t".into(),
            rate_hz: 100,
            ..ProfileMeta::default()
        });
        let main = profile.frames.intern(Frame::python("main", "a.py", 10, 1));
        let work_a = profile.frames.intern(Frame::python("work", "a.py", 20, 15));
        let work_b = profile.frames.intern(Frame::python("work", "a.py", 21, 15));
        let one = StackCounts {
            samples: 1,
            weight_ns: 10_000_000,
        };
        let t1 = profile.thread_mut("MainThread", 1);
        t1.add(&[main, work_a], one);
        t1.add(&[main, work_a], one);
        let t2 = profile.thread_mut("worker", 2);
        t2.add(&[main, work_b], one);
        profile
    }

    #[test]
    fn totals_and_transforms() {
        let profile = sample_profile();
        assert_eq!(profile.total().samples, 3);
        assert_eq!(profile.threads[0].label(), "MainThread (tid 1)");

        let merged = profile.merged_threads();
        assert_eq!(merged.threads.len(), 1);
        assert_eq!(merged.threads[0].name, ALL_THREADS);
        assert_eq!(merged.total().samples, 3);
        assert_eq!(merged.threads[0].stacks.len(), 2);

        let functions = profile.merged_threads().by_function();
        assert_eq!(
            functions.threads[0].stacks.len(),
            1,
            "lines 20 and 21 fold into work"
        );
        assert_eq!(functions.total().weight_ns, 30_000_000);
    }

    #[test]
    fn bounded_merge_sends_new_stacks_to_overflow() {
        let mut a = sample_profile();
        let b = sample_profile()
            .map_frames(|f| Frame::python(&format!("{}2", f.function), &f.file, f.line, 0));
        let overflowed = a.merge_bounded(&b, 2);
        assert_eq!(
            overflowed, 3,
            "all of b's stacks are new and past the bound"
        );
        assert_eq!(a.total().samples, 6, "nothing is lost");
        assert_eq!(a.meta.overflowed, 3);
        let compact = a.compact();
        assert!(
            compact.frames.len() < a.frames.len(),
            "b's frames are unused"
        );
        assert_eq!(compact.total(), a.total());
    }

    #[test]
    fn merge_adds_matching_threads() {
        let mut a = sample_profile();
        let b = sample_profile();
        a.merge(&b);
        assert_eq!(a.threads.len(), 2);
        assert_eq!(a.total().samples, 6);
        assert_eq!(a.frames.len(), 3);
    }
}
