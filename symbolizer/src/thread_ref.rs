//! A thread as the aggregator and the timeline know it: the sampler's live entry while the
//! thread runs, and only what a profile needs of it once it has ended.
//!
//! The sampler's [`ThreadEntry`] is several KiB (its stack-dump slot, the interpreter's
//! slot for the thread); the sampler takes its ring buffers back itself once the thread has
//! ended. A recording of a thread-per-request server sees millions of threads, so holding
//! each one's entry for the whole recording kept all of that: every [`SETTLE_EVERY`] new
//! threads, the aggregator and the timeline [`ThreadRef::settle`] the ones they hold,
//! keeping an ended thread's name, tid, clock readings and CPU time.

use std::sync::Arc;

use sampler::ThreadEntry;

/// New threads between two looks for ended ones.
pub(crate) const SETTLE_EVERY: usize = 64;

/// A thread seen in the samples.
pub(crate) enum ThreadRef {
    /// It was running when last looked at.
    Live(Arc<ThreadEntry>),
    /// It has ended: what is left of it.
    Ended(EndedThread),
}

/// What a profile needs of a thread that has ended (or of a group of them).
#[derive(Clone)]
pub(crate) struct EndedThread {
    pub key: u32,
    pub name: String,
    pub tid: i32,
    pub cpu_since_armed_ns: u64,
    pub started_ns: u64,
    pub exited_ns: Option<u64>,
}

/// The key of a group of ended threads: no thread's (the sampler's keys start at 1).
const GROUP_KEY: u32 = 0;

impl EndedThread {
    /// An empty group of ended threads named `group`.
    pub fn group(group: String) -> EndedThread {
        EndedThread {
            key: GROUP_KEY,
            name: group,
            tid: 0,
            cpu_since_armed_ns: 0,
            started_ns: u64::MAX,
            exited_ns: None,
        }
    }
}

impl ThreadRef {
    /// The sampler's key of the thread (unique within the process).
    pub fn key(&self) -> u32 {
        match self {
            ThreadRef::Live(entry) => entry.key(),
            ThreadRef::Ended(ended) => ended.key,
        }
    }

    /// Its name now (a live thread can be renamed).
    pub fn name(&self) -> String {
        match self {
            ThreadRef::Live(entry) => entry.name(),
            ThreadRef::Ended(ended) => ended.name.clone(),
        }
    }

    /// Its kernel thread id.
    pub fn tid(&self) -> i32 {
        match self {
            ThreadRef::Live(entry) => entry.tid(),
            ThreadRef::Ended(ended) => ended.tid,
        }
    }

    /// The CPU time it used since a session armed it.
    pub fn cpu_time_since_armed_ns(&self) -> u64 {
        match self {
            ThreadRef::Live(entry) => entry.cpu_time_since_armed_ns(),
            ThreadRef::Ended(ended) => ended.cpu_since_armed_ns,
        }
    }

    /// `CLOCK_MONOTONIC` when it registered.
    pub fn started_ns(&self) -> u64 {
        match self {
            ThreadRef::Live(entry) => entry.started_ns(),
            ThreadRef::Ended(ended) => ended.started_ns,
        }
    }

    /// `CLOCK_MONOTONIC` when it exited, if it has.
    pub fn exited_ns(&self) -> Option<u64> {
        match self {
            ThreadRef::Live(entry) => entry.exited_ns(),
            ThreadRef::Ended(ended) => ended.exited_ns,
        }
    }

    /// True once the thread is known to have ended.
    pub fn has_ended(&self) -> bool {
        match self {
            ThreadRef::Live(entry) => !entry.is_alive(),
            ThreadRef::Ended(_) => true,
        }
    }

    /// If the thread has ended, keeps what a profile needs of it and lets go of its entry.
    pub fn settle(&mut self) {
        if let ThreadRef::Live(entry) = self {
            if !entry.is_alive() {
                *self = ThreadRef::Ended(EndedThread {
                    key: entry.key(),
                    name: entry.name(),
                    tid: entry.tid(),
                    cpu_since_armed_ns: entry.cpu_time_since_armed_ns(),
                    started_ns: entry.started_ns(),
                    exited_ns: entry.exited_ns(),
                });
            }
        }
    }
}
