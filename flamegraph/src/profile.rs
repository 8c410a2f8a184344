//! The aggregated, thread-aware profile every writer reads: per thread, the values (samples,
//! time, bytes: see [`crate::value`]) each distinct stack got.

use crate::frame::{Frame, FrameId, FrameTable, OVERFLOW};
use crate::hash::FastMap;
use crate::value::{ValueKind, Values, MAX_VALUE_KINDS};
use crate::ProfileError;

/// Facts about a recording as a whole.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileMeta {
    /// What was profiled (the script's name), used as a title.
    pub title: String,
    /// The kinds of value every stack carries, in the order of its [`Values`].
    pub kinds: Vec<ValueKind>,
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

impl Default for ProfileMeta {
    /// A CPU profile's metadata: samples and CPU time, nothing else known.
    fn default() -> ProfileMeta {
        ProfileMeta {
            title: String::new(),
            kinds: vec![ValueKind::SAMPLES, ValueKind::CPU],
            rate_hz: 0,
            start_unix_ns: 0,
            duration_ns: 0,
            dropped: 0,
            overflowed: 0,
        }
    }
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

    /// The index of the kind with this name.
    pub fn kind_index(&self, name: &str) -> Option<usize> {
        self.kinds.iter().position(|k| k.name == name)
    }

    /// The index of the first kind measured in time (CPU or wall), if any.
    pub fn time_index(&self) -> Option<usize> {
        self.kinds.iter().position(ValueKind::is_time)
    }

    /// The first kind measured in time (CPU or wall), if any.
    pub fn time_kind(&self) -> Option<&ValueKind> {
        self.time_index().map(|i| &self.kinds[i])
    }

    /// The index of the kind views count by default: `samples`, else the first count,
    /// else the first kind.
    pub fn count_index(&self) -> usize {
        self.kind_index(ValueKind::SAMPLES.name.as_ref())
            .or_else(|| self.kinds.iter().position(|k| k.unit == "count"))
            .unwrap_or(0)
    }

    /// The kinds' names, for messages: `samples, cpu`.
    pub fn kind_names(&self) -> String {
        let names: Vec<&str> = self.kinds.iter().map(|k| k.name.as_ref()).collect();
        names.join(", ")
    }
}

/// The most samples a parsed profile may hold in all: 2^53, some 285,000 years of samples at
/// 1 kHz. Parsers reject files whose counts add up to more, so that sums in the writers (ours
/// and inferno's) cannot overflow; [`Values::add`] saturates besides.
pub const MAX_SAMPLES: u64 = 1 << 53;

/// The process a thread ran in, when a profile holds several (a program and the Python
/// children it started): drawn as a root above the process's threads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProcessRoot {
    /// The process id.
    pub pid: u32,
    /// The root frame: `python-child (pid N) ARGV...`.
    pub label: String,
}

impl ProcessRoot {
    /// The root of a child process: `python-child (pid N)` and its command line.
    pub fn child(pid: u32, argv: &[String]) -> ProcessRoot {
        let mut label = format!("python-child (pid {pid})");
        for arg in argv {
            label.push(' ');
            label.push_str(arg);
        }
        ProcessRoot { pid, label }
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
    /// Values per distinct stack (root first), in the order of the profile's kinds.
    pub stacks: FastMap<Vec<FrameId>, Values>,
    /// Its thread group (see [`crate::groups`]), once a grouped view noted it.
    pub group: Option<String>,
    /// The child process it ran in; `None` for the profiled program's own threads.
    pub process: Option<ProcessRoot>,
    /// How many ended threads were added into this one, named after their group, to bound
    /// a long recording's memory (0: a thread of its own).
    pub ended_members: u64,
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

    /// Adds values to a stack.
    pub fn add(&mut self, stack: &[FrameId], values: Values) {
        match self.stacks.get_mut(stack) {
            Some(existing) => existing.add(&values),
            None => {
                self.stacks.insert(stack.to_vec(), values);
            }
        }
    }

    /// The sum over all stacks.
    pub fn total(&self) -> Values {
        let mut total = Values::default();
        for values in self.stacks.values() {
            total.add(values);
        }
        total
    }

    /// How many threads this one stands for: its `ended_members`, or itself.
    pub fn members(&self) -> u64 {
        self.ended_members.max(1)
    }

    /// The root frame writers give the thread: `name (tid N)`, or just the name without a tid.
    pub fn label(&self) -> String {
        if self.ended_members > 0 {
            format!("{} ×{} ended", self.name, self.ended_members)
        } else if self.tid == 0 {
            self.name.clone()
        } else {
            format!("{} (tid {})", self.name, self.tid)
        }
    }

    /// [`ThreadProfile::label`], after `[pid N] ` for a thread of a child process: tells
    /// threads apart in tables that show every process's threads.
    pub fn qualified_label(&self) -> String {
        match &self.process {
            Some(process) => format!("[pid {}] {}", process.pid, self.label()),
            None => self.label(),
        }
    }

    /// An empty thread with this one's identity (name, tid, group, process) and CPU time.
    pub fn empty_like(&self) -> ThreadProfile {
        ThreadProfile {
            name: self.name.clone(),
            tid: self.tid,
            cpu_time_ns: self.cpu_time_ns,
            stacks: FastMap::default(),
            group: self.group.clone(),
            process: self.process.clone(),
            ended_members: self.ended_members,
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
    /// The samples in time order, when the recording kept them (for the formats that show
    /// time; views that regroup threads leave it as recorded).
    pub timeline: Option<std::sync::Arc<crate::timeline::Timeline>>,
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
    pub fn total(&self) -> Values {
        let mut total = Values::default();
        for thread in &self.threads {
            total.add(&thread.total());
        }
        total
    }

    /// True when `stack` is a waiting asyncio task's sample (`--async` in wall mode: it ends
    /// in `[awaiting]`). Its time is the task's, not its thread's: fifty tasks waiting one
    /// second on one thread are fifty task-seconds in one second of the thread's wall time.
    pub fn is_awaiting(&self, stack: &[FrameId]) -> bool {
        stack
            .last()
            .is_some_and(|&id| self.frames.get(id).is_awaiting())
    }

    /// The sum of the stacks of `threads` that are waiting asyncio tasks' samples
    /// ([`Profile::is_awaiting`]): what to count apart from the threads' own time.
    pub fn awaiting_total<'a>(
        &self,
        threads: impl IntoIterator<Item = &'a ThreadProfile>,
    ) -> Values {
        let mut total = Values::default();
        for thread in threads {
            for (stack, values) in &thread.stacks {
                if self.is_awaiting(stack) {
                    total.add(values);
                }
            }
        }
        total
    }

    /// The sum over all threads of one kind (0 when the profile does not carry it).
    pub fn total_of(&self, kind: &ValueKind) -> u64 {
        self.meta
            .kinds
            .iter()
            .position(|k| k == kind)
            .map_or(0, |index| self.total().get(index))
    }

    /// The index of the kind a view asked for by name (`samples`, `cpu`, `alloc_space`),
    /// or of the kind views count by default when none was asked for.
    pub fn value_index(&self, asked: Option<&str>) -> Result<usize, ProfileError> {
        match asked {
            None => Ok(self.meta.count_index()),
            Some(name) => self
                .meta
                .kind_index(name)
                .ok_or_else(|| ProfileError::NoSuchValue {
                    asked: name.to_owned(),
                    known: match name.starts_with("alloc_") || name.starts_with("inuse_") {
                        true => format!(
                            "{}; allocations are recorded with `rpprof record --alloc`",
                            self.meta.kind_names()
                        ),
                        false => self.meta.kind_names(),
                    },
                }),
        }
    }

    /// True when no stack has any time.
    pub fn is_empty(&self) -> bool {
        self.threads.iter().all(|t| t.stacks.is_empty())
    }

    /// The thread with this name and tid, created if missing.
    pub fn thread_mut(&mut self, name: &str, tid: i32) -> &mut ThreadProfile {
        self.thread_mut_in(None, name, tid)
    }

    /// The thread with this name and tid in this process (`None`: the program's own),
    /// created if missing.
    pub fn thread_mut_in(
        &mut self,
        process: Option<&ProcessRoot>,
        name: &str,
        tid: i32,
    ) -> &mut ThreadProfile {
        let index = self.thread_index(process, name, tid);
        &mut self.threads[index]
    }

    /// The index of the thread with this name and tid in this process, created if missing.
    fn thread_index(&mut self, process: Option<&ProcessRoot>, name: &str, tid: i32) -> usize {
        match self
            .threads
            .iter()
            .position(|t| t.name == name && t.tid == tid && t.process.as_ref() == process)
        {
            Some(index) => index,
            None => {
                let mut thread = ThreadProfile::new(name, tid);
                thread.process = process.cloned();
                self.threads.push(thread);
                self.threads.len() - 1
            }
        }
    }

    /// True when some thread belongs to a child process.
    pub fn has_processes(&self) -> bool {
        self.threads.iter().any(|t| t.process.is_some())
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
        let kinds = self.align_kinds(&other.meta.kinds);
        let remap: Vec<FrameId> = other
            .frames
            .iter()
            .map(|(_, frame)| self.frames.intern(frame.clone()))
            .collect();
        let count_index = self.meta.count_index();
        let mut overflow: Option<FrameId> = None;
        let mut distinct: usize = self.threads.iter().map(|t| t.stacks.len()).sum();
        let mut overflowed = 0;
        let mut mapped: Vec<FrameId> = Vec::new();
        for thread in &other.threads {
            let cpu = thread.cpu_time_ns;
            let index = self.thread_index(thread.process.as_ref(), &thread.name, thread.tid);
            let (frames, target) = (&mut self.frames, &mut self.threads[index]);
            if target.group.is_none() {
                target.group.clone_from(&thread.group);
            }
            target.cpu_time_ns = match (target.cpu_time_ns, cpu) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                (a, b) => a.or(b),
            };
            for (stack, values) in &thread.stacks {
                let values = match &kinds {
                    None => *values,
                    Some(kinds) => values.remapped(kinds),
                };
                mapped.clear();
                mapped.extend(stack.iter().map(|&id| remap[id as usize]));
                if let Some(existing) = target.stacks.get_mut(mapped.as_slice()) {
                    existing.add(&values);
                } else if distinct < max_stacks {
                    distinct += 1;
                    target.stacks.insert(mapped.clone(), values);
                } else {
                    overflowed = values.get(count_index).saturating_add(overflowed);
                    let id =
                        *overflow.get_or_insert_with(|| frames.intern(Frame::marker(OVERFLOW)));
                    target.add(&[id], values);
                }
            }
        }
        self.meta.overflowed = self.meta.overflowed.saturating_add(overflowed);
        overflowed
    }

    /// Makes room in this profile's kinds for `other`'s: `None` when they are the same,
    /// else where each of `other`'s kinds goes (kinds this profile lacks are added while
    /// there is room, the rest dropped). A profile with no threads yet takes `other`'s
    /// kinds as they are.
    fn align_kinds(&mut self, other: &[ValueKind]) -> Option<Vec<Option<usize>>> {
        if self.meta.kinds == other {
            return None;
        }
        if self.threads.is_empty() {
            self.meta.kinds = other.to_vec();
            return None;
        }
        let remap = other
            .iter()
            .map(
                |kind| match self.meta.kinds.iter().position(|k| k == kind) {
                    Some(index) => Some(index),
                    None if self.meta.kinds.len() < MAX_VALUE_KINDS => {
                        self.meta.kinds.push(kind.clone());
                        Some(self.meta.kinds.len() - 1)
                    }
                    None => None,
                },
            )
            .collect();
        Some(remap)
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
            let mut target = thread.empty_like();
            for (stack, values) in &thread.stacks {
                let stack: Vec<FrameId> = stack
                    .iter()
                    .map(|&id| remap[id as usize].expect("used frame"))
                    .collect();
                target.add(&stack, *values);
            }
            compacted.threads.push(target);
        }
        compacted
    }

    /// The same profile with every thread's stacks added into one thread, [`ALL_THREADS`]
    /// (one per process when the profile holds child processes).
    pub fn merged_threads(&self) -> Profile {
        let mut merged = Profile::new(self.meta.clone());
        merged.frames = self.frames.clone();
        for thread in &self.threads {
            let all = merged.thread_mut_in(thread.process.as_ref(), ALL_THREADS, 0);
            all.cpu_time_ns = match (all.cpu_time_ns, thread.cpu_time_ns) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                (a, b) => a.or(b),
            };
            for (stack, values) in &thread.stacks {
                all.add(stack, *values);
            }
        }
        if merged.threads.is_empty() {
            merged.threads.push(ThreadProfile::new(ALL_THREADS, 0));
        }
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
            let mut target = thread.empty_like();
            for (stack, values) in &thread.stacks {
                let stack: Vec<FrameId> = stack.iter().map(|&id| remap[id as usize]).collect();
                target.add(&stack, *values);
            }
            mapped.threads.push(target);
        }
        mapped
    }

    /// The same profile without asyncio task frames (`task NAME`); stacks that become equal
    /// merge. Views show tasks only when asked (`--async`).
    pub fn without_tasks(&self) -> Profile {
        let is_task: Vec<bool> = self
            .frames
            .iter()
            .map(|(_, frame)| frame.task_name().is_some())
            .collect();
        if !is_task.contains(&true) {
            return self.clone();
        }
        let mut kept = Profile::new(self.meta.clone());
        kept.frames = self.frames.clone();
        for thread in &self.threads {
            let mut target = thread.empty_like();
            for (stack, values) in &thread.stacks {
                let stack: Vec<FrameId> = stack
                    .iter()
                    .copied()
                    .filter(|&id| !is_task[id as usize])
                    .collect();
                target.add(&stack, *values);
            }
            kept.threads.push(target);
        }
        kept.timeline = self.timeline.clone();
        kept
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
        let one = Values::from_slice(&[1, 10_000_000]);
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
        assert_eq!(profile.total().get(0), 3);
        assert_eq!(profile.threads[0].label(), "MainThread (tid 1)");

        let merged = profile.merged_threads();
        assert_eq!(merged.threads.len(), 1);
        assert_eq!(merged.threads[0].name, ALL_THREADS);
        assert_eq!(merged.total().get(0), 3);
        assert_eq!(merged.threads[0].stacks.len(), 2);

        let functions = profile.merged_threads().by_function();
        assert_eq!(
            functions.threads[0].stacks.len(),
            1,
            "lines 20 and 21 fold into work"
        );
        assert_eq!(functions.total().get(1), 30_000_000);
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
        assert_eq!(a.total().get(0), 6, "nothing is lost");
        assert_eq!(a.meta.overflowed, 3);
        let compact = a.compact();
        assert!(
            compact.frames.len() < a.frames.len(),
            "b's frames are unused"
        );
        assert_eq!(compact.total(), a.total());
    }

    #[test]
    fn merging_other_kinds_keeps_each_value_in_its_kind() {
        let mut a = sample_profile();
        let mut wall = sample_profile();
        wall.meta.kinds = vec![ValueKind::SAMPLES, ValueKind::WALL];
        a.merge(&wall);
        assert_eq!(
            a.meta.kinds,
            [ValueKind::SAMPLES, ValueKind::CPU, ValueKind::WALL]
        );
        let total = a.total();
        assert_eq!(
            (total.get(0), total.get(1), total.get(2)),
            (6, 30_000_000, 30_000_000)
        );
        let mut empty = Profile::default();
        empty.merge(&wall);
        assert_eq!(
            empty.meta.kinds, wall.meta.kinds,
            "an empty profile adopts them"
        );
        assert_eq!(a.value_index(Some("wall")).unwrap(), 2);
        assert_eq!(a.value_index(None).unwrap(), 0);
        let err = a.value_index(Some("bytes")).unwrap_err().to_string();
        assert!(err.contains("samples, cpu, wall"), "{err}");
    }

    #[test]
    fn merge_adds_matching_threads() {
        let mut a = sample_profile();
        let b = sample_profile();
        a.merge(&b);
        assert_eq!(a.threads.len(), 2);
        assert_eq!(a.total().get(0), 6);
        assert_eq!(a.frames.len(), 3);
    }
}
