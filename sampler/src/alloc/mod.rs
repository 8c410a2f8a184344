//! Sampled allocation profiling: which Python stacks allocate memory, and which of what they
//! allocated is still in use.
//!
//! [`SamplingAllocator`] wraps the program's allocator ([`hook`] explains what it may and may
//! not do). On average once every [`AllocSampling`] interval of bytes a thread allocates
//! (exponentially distributed intervals, as Go and tcmalloc draw them), it copies the
//! thread's Python stack into the thread's [`AllocRing`] and puts the block into the
//! lock-free table of sampled live blocks ([`live`]); a free takes it out again. The drain
//! thread moves the records on with the thread's samples ([`crate::SampleBatch::allocs`]);
//! the aggregator weights each sample (an allocation of `s` bytes is sampled with
//! probability `1 - exp(-s / interval)`) and asks the table what is still live
//! ([`for_each_live`]).
//!
//! Only threads registered with the sampler (Python threads) are attributed; samples on
//! other threads are counted ([`AllocStats::unregistered`]).

mod hook;
pub mod live;
pub(crate) mod record;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use hook::{in_hook, SamplingAllocator, OFF_RECHECK_BYTES};
pub use live::for_each_live;
pub use record::{AllocHeader, AllocRing, AllocWriter, ALLOC_HEADER_WORDS};

use crate::SamplerError;

/// The default mean bytes between two samples (Go's `MemProfileRate`).
pub const DEFAULT_INTERVAL: u64 = 512 * 1024;
/// The smallest interval accepted: below it the stack walks cost more than the allocations
/// and the live table ([`live::SLOTS`]) overflows.
pub const MIN_INTERVAL: u64 = 1024;
/// The largest interval accepted.
pub const MAX_INTERVAL: u64 = 1 << 40;

/// Mean bytes between samples while a session runs (0: off).
pub(crate) static INTERVAL: AtomicU64 = AtomicU64::new(0);
/// Bumped at every start, so each thread draws a fresh interval for the new session.
pub(crate) static EPOCH: AtomicU64 = AtomicU64::new(0);
/// Frees look themselves up in the live table.
pub(crate) static TRACKING_FREES: AtomicBool = AtomicBool::new(false);
/// The next sample's id (0 means "none" in the live table).
pub(crate) static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Set by the hook the first time it runs: the program's allocator is a [`SamplingAllocator`].
pub(crate) static HOOK_INSTALLED: AtomicBool = AtomicBool::new(false);
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Counters the hook updates (relaxed atomics).
pub(crate) struct AllocCounters {
    pub samples: AtomicU64,
    pub dropped: AtomicU64,
    pub untracked: AtomicU64,
    pub unregistered: AtomicU64,
}

pub(crate) static ALLOC_STATS: AllocCounters = AllocCounters {
    samples: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    untracked: AtomicU64::new(0),
    unregistered: AtomicU64::new(0),
};

/// What the allocation hook did during a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Allocations sampled on Python threads.
    pub samples: u64,
    /// Samples lost because the thread's ring was full.
    pub dropped: u64,
    /// Samples whose block could not be tracked as live (the live table's bucket was full):
    /// counted as allocated, never as in use.
    pub untracked: u64,
    /// Samples that fell on threads that are not Python's (the sampler's own, native ones,
    /// or a Python thread still registering): not recorded.
    pub unregistered: u64,
}

/// The hook's counters since the last start.
pub fn alloc_stats() -> AllocStats {
    AllocStats {
        samples: ALLOC_STATS.samples.load(Ordering::Relaxed),
        dropped: ALLOC_STATS.dropped.load(Ordering::Relaxed),
        untracked: ALLOC_STATS.untracked.load(Ordering::Relaxed),
        unregistered: ALLOC_STATS.unregistered.load(Ordering::Relaxed),
    }
}

/// True once a [`SamplingAllocator`] has served an allocation in this process.
pub fn allocator_installed() -> bool {
    HOOK_INSTALLED.load(Ordering::Relaxed)
}

/// Checks an interval (mean bytes between samples) against its bounds.
pub fn validate_interval(bytes: u64) -> Result<(), SamplerError> {
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&bytes) {
        return Err(SamplerError::InvalidConfig(format!(
            "the allocation interval must be between {MIN_INTERVAL} bytes and 1 TiB, not {bytes}"
        )));
    }
    Ok(())
}

/// Ring size per thread for an interval: 256 KiB at the default interval (about 650
/// records of 16 frames: a thread allocating 1 GB/s writes 200 per 100 ms drain), and
/// proportionally more at smaller ones, up to 16 MiB per thread.
fn ring_words(interval: u64) -> usize {
    let scale = (DEFAULT_INTERVAL / interval.max(1)).clamp(1, 64) as usize;
    (1 << 15) * scale
}

/// Allocation sampling, running. Start it while a [`crate::Sampler`] runs (its drain
/// thread carries the records) and stop it before the sampler stops.
pub struct AllocSampling {
    interval: u64,
}

impl AllocSampling {
    /// Starts sampling every registered thread's allocations (and every thread's that
    /// registers later), on average one every `interval` bytes; empties the live table.
    pub fn start(interval: u64) -> Result<AllocSampling, SamplerError> {
        validate_interval(interval)?;
        if !allocator_installed() {
            return Err(SamplerError::InvalidConfig(
                "allocation sampling needs rpprof's allocator, which this program does not use"
                    .to_owned(),
            ));
        }
        if RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(SamplerError::AlreadyRunning);
        }
        live::clear();
        for counter in [
            &ALLOC_STATS.samples,
            &ALLOC_STATS.dropped,
            &ALLOC_STATS.untracked,
            &ALLOC_STATS.unregistered,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        crate::registry::set_alloc_rings(Some(ring_words(interval)));
        TRACKING_FREES.store(true, Ordering::Release);
        EPOCH.fetch_add(1, Ordering::AcqRel);
        INTERVAL.store(interval, Ordering::Release);
        Ok(AllocSampling { interval })
    }

    /// The mean bytes between samples.
    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// Stops sampling; what is live stays in the table for the last profile. Threads keep
    /// their rings until they exit.
    pub fn stop(self) -> AllocStats {
        freeze();
        crate::registry::set_alloc_rings(None);
        RUNNING.store(false, Ordering::Release);
        alloc_stats()
    }
}

impl Drop for AllocSampling {
    fn drop(&mut self) {
        freeze();
        RUNNING.store(false, Ordering::Release);
    }
}

/// In a child made by `fork()` (from the atfork handler: atomic stores only): the parent's
/// allocation sampling is not this process's, and its live table describes the parent.
pub(crate) fn stop_in_forked_child() {
    freeze();
}

/// In a forked child that starts a session of its own ([`crate::lifecycle::reset_after_fork`]):
/// the parent's allocation sampling does not run here.
pub(crate) fn reset_in_forked_child() {
    RUNNING.store(false, Ordering::Release);
}

/// Stops taking samples and stops watching frees: the live table keeps what is allocated
/// now, so the profile taken next shows what was in use at this moment (the program's end,
/// before the interpreter frees its modules). Does nothing when no sampling runs.
pub fn freeze() {
    INTERVAL.store(0, Ordering::Release);
    TRACKING_FREES.store(false, Ordering::Release);
}
